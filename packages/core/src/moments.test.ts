import { describe, expect, it } from 'vitest';
import { EMPTY_MOMENTS, mergeMoments, momentsOf, varianceOf } from './moments.js';
import { isNormkitError } from './errors.js';

describe('Moments', () => {
  it('computes count, mean and m2 of hand-checked values', () => {
    // Keras ops.moments([0,1,2,3,100]) = (21.2, 1553.36) biased
    const m = momentsOf([0, 1, 2, 3, 100]);
    expect(m.count).toBe(5);
    expect(m.mean).toBeCloseTo(21.2, 13);
    expect(varianceOf(m)).toBeCloseTo(1553.36, 10);
    expect(varianceOf(m, 1)).toBeCloseTo((1553.36 * 5) / 4, 10);
  });

  it('merges uneven parts into exactly the moments of the whole (Chan et al.)', () => {
    let seed = 11;
    const rand = () => ((seed = (Math.imul(seed, 48271) % 2147483647) >>> 0) / 2147483647);
    const whole = Float64Array.from({ length: 1000 }, () => 1e3 + rand() * 5);
    const cuts = [0, 1, 7, 300, 301, 999, 1000];
    let merged = EMPTY_MOMENTS;
    for (let k = 0; k + 1 < cuts.length; k++) merged = mergeMoments(merged, momentsOf(whole.subarray(cuts[k], cuts[k + 1])));
    const direct = momentsOf(whole);
    expect(merged.count).toBe(direct.count);
    expect(Math.abs(merged.mean - direct.mean) / direct.mean).toBeLessThan(1e-14);
    expect(Math.abs(merged.m2 - direct.m2) / direct.m2).toBeLessThan(1e-11);
  });

  it('treats the empty set as the identity of merge', () => {
    const m = momentsOf([1, 2, 4]);
    expect(mergeMoments(EMPTY_MOMENTS, m)).toBe(m);
    expect(mergeMoments(m, EMPTY_MOMENTS)).toBe(m);
    expect(momentsOf([])).toEqual(EMPTY_MOMENTS);
  });

  it('refuses an unbiased variance of one value with E_DEGENERATE', () => {
    let caught: unknown;
    try {
      varianceOf(momentsOf([3]), 1);
    } catch (e) {
      caught = e;
    }
    expect(isNormkitError(caught, 'E_DEGENERATE')).toBe(true);
  });
});
