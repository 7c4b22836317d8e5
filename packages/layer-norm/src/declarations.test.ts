import { CONTRACT_DTYPES, planNormalization } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { layerNorm } from './plugin.js';

// What layer norm declares for @normkit/gradcheck: large shapes that reach the engine's
// rows layout (and the planes layout without affine), the contract's dtype rule, mode
// independence (no running statistics).

describe('declarations', () => {
  it('the contract\'s dtype rule, mode independence, no state update', () => {
    const bound = layerNorm.create({ normalizedShape: [5] });
    expect(bound.dtypes).toEqual(CONTRACT_DTYPES);
    expect(bound.modeIndependent).toBe(true);
    expect(bound.stateUpdate).toBeUndefined();
  });

  it('large shapes: the rows layout with rows four at a time and a remainder; without affine, runs of 66', () => {
    const planOf = (options: { normalizedShape: number[]; elementwiseAffine?: boolean }) =>
      layerNorm
        .create(options)
        .largeShapes!()
        .map((shape) => {
          const lead = shape.length - options.normalizedShape.length;
          const groups = shape.slice(0, lead).map((_, k) => k);
          return planNormalization(shape, groups, options.elementwiseAffine === false ? null : options.normalizedShape.map((_, j) => lead + j));
        });
    const rows = planOf({ normalizedShape: [37] });
    expect(rows.map((p) => p.affine)).toEqual([
      { kind: 'rows', leadingRows: true, rows: 67, features: 37 },
      { kind: 'rows', leadingRows: true, rows: 65, features: 37 },
    ]);
    expect(planOf({ normalizedShape: [6, 11], elementwiseAffine: false }).every((p) => p.statsBlocks!.D === 66 && p.statsBlocks!.C > 4)).toBe(true);
    expect(layerNorm.largeOptions!.some((o) => o.elementwiseAffine === false && Array.isArray(o.normalizedShape) && o.normalizedShape.length === 2)).toBe(true);
  });
});
