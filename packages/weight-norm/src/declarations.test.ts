import { CONTRACT_DTYPES, sizeOf } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { weightNorm, weightNormLinear } from './index.js';

// What weight norm and its dense layer declare for @normkit/gradcheck: large option sets (weight
// norm's options fix the shape), large shapes, the contract's dtype rule, mode independence.

describe('declarations', () => {
  it('the contract\'s dtype rule, mode independence, no state update', () => {
    for (const bound of [weightNorm.create({ shape: [3, 4], dim: 0 }), weightNormLinear.create({ inFeatures: 4, outFeatures: 3 })]) {
      expect(bound.dtypes).toEqual(CONTRACT_DTYPES);
      expect(bound.modeIndependent).toBe(true);
      expect(bound.stateUpdate).toBeUndefined();
    }
  });

  it('weight norm: every large option set is its one large shape, with slices of more than 4 elements and one slice for dim null', () => {
    for (const options of weightNorm.largeOptions!) {
      const bound = weightNorm.create(options);
      const shape = bound.options.shape;
      expect(bound.largeShapes!()).toEqual([shape]);
      const slices = bound.options.dim === null ? 1 : shape[bound.options.dim];
      expect(sizeOf(shape) / slices).toBeGreaterThan(4);
    }
    expect(weightNorm.largeOptions!.some((o) => o.dim === null)).toBe(true);
    expect(weightNorm.largeOptions!.some((o) => sizeOf(weightNorm.create(o).options.shape) > 4000)).toBe(true);
  });

  it('weight norm linear: 67 and 65 rows of inputs at its large option sets', () => {
    for (const options of weightNormLinear.largeOptions!) {
      expect(weightNormLinear.create(options).largeShapes!()).toEqual([
        [67, options.inFeatures],
        [5, 13, options.inFeatures],
      ]);
    }
  });
});
