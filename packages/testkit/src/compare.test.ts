import { tensor } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { differences, maxAbs, relativeError, scaledError } from './compare.js';

describe('comparisons', () => {
  it('scaledError divides the largest difference by 1 + the largest reference value', () => {
    expect(scaledError(Float64Array.of(1, 2.5, 3), Float64Array.of(1, 2, 3))).toBeCloseTo(0.5 / 4, 15);
    expect(scaledError(tensor(Float32Array.of(0, 1), [2]), Float64Array.of(0, 1))).toBe(0);
  });

  it('relativeError is elementwise and counts equal values (infinities too) as 0', () => {
    expect(relativeError(Float64Array.of(1.5, Infinity), Float64Array.of(1, Infinity))).toBe(0.5);
    expect(relativeError(Float64Array.of(1e-300), Float64Array.of(0))).toBe(1);
  });

  it('differences counts unequal values by Object.is', () => {
    expect(differences(Float64Array.of(NaN, 0, 1), Float64Array.of(NaN, -0, 1))).toBe(1);
  });

  it('throws on different lengths; maxAbs takes the largest magnitude', () => {
    expect(() => scaledError(Float64Array.of(1), Float64Array.of(1, 2))).toThrow('lengths differ');
    expect(maxAbs(Float64Array.of(-3, 2))).toBe(3);
    expect(maxAbs([])).toBe(0);
  });
});
