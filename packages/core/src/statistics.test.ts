import { describe, expect, it } from 'vitest';
import { groupMoments } from './statistics.js';
import { fromArray, toContiguous } from './tensor.js';
import { momentsOf } from './moments.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Near-exact mean and biased variance of float32-exact values: shift by the first value first (exact in float64). */
function shiftedReference(values: ArrayLike<number>): { mean: number; variance: number } {
  const shift = values[0];
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] - shift;
  const meanShifted = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - shift - meanShifted) ** 2;
  return { mean: shift + meanShifted, variance: squares / values.length };
}

describe('groupMoments', () => {
  it('matches hand-computed values (PyTorch #60528: 1..7 has mean 4, biased variance 4)', () => {
    // channel 0 = 1..7 and channel 1 = 2·(1..7), laid out (7, 2)
    const values: number[] = [];
    for (let i = 1; i <= 7; i++) values.push(i, 2 * i);
    const stats = groupMoments(fromArray(values, [7, 2], 'float64'), [1]);
    expect(stats.count).toBe(7);
    expect(Array.from(stats.mean)).toEqual([4, 8]);
    // Σ(i − 4)² over 1..7 = 28 → biased variance 4; doubled values → 16.
    expect(stats.variance[0]).toBeCloseTo(4, 14);
    expect(stats.variance[1]).toBeCloseTo(16, 14);
  });

  it('reduces over every axis but the channel axis of an (N, C, H, W) tensor', () => {
    const shape = [2, 3, 2, 2];
    const data = Float64Array.from({ length: 24 }, (_, i) => i);
    const stats = groupMoments(fromArray(data, shape, 'float64'), [1]);
    // channel c holds i with floor(i / 4) % 3 == c: {4c..4c+3} ∪ {12+4c..12+4c+3}
    for (let c = 0; c < 3; c++) {
      const members = [0, 1, 2, 3, 12, 13, 14, 15].map((k) => k + 4 * c);
      const m = momentsOf(members);
      expect(stats.mean[c]).toBeCloseTo(m.mean, 13);
      expect(stats.variance[c]).toBeCloseTo(m.m2 / 8, 13);
    }
  });

  it('row moments (group axes = the leading axes) reduce the trailing axes per leading index', () => {
    const stats = groupMoments(fromArray([1, 2, 3, 4, 10, 20, 30, 40], [2, 2, 2], 'float64'), [0]);
    expect(stats.count).toBe(4);
    expect(Array.from(stats.mean)).toEqual([2.5, 25]);
    expect(stats.variance[0]).toBeCloseTo(1.25, 14);
    expect(stats.variance[1]).toBeCloseTo(125, 12);
  });

  it('gives the same result on strided views as on contiguous copies', () => {
    const rand = lcg(7);
    const data = Float64Array.from({ length: 5 * 4 * 6 }, () => rand() * 10 - 5);
    const base = fromArray(data, [5, 4, 6], 'float64');
    const views = [base.transpose(2, 0, 1), base.step(-1, 1, -2), base.hi(4, 3, 5).lo(1, 0, 1), base.transpose(1, 2, 0).step(1, -1, 1)];
    for (const view of views) {
      for (const axes of [[0], [1], [2], [0, 1], [1, 2], [], [0, 2]]) {
        const strided = groupMoments(view, axes);
        const copy = groupMoments(toContiguous(view), axes);
        for (let g = 0; g < copy.mean.length; g++) {
          expect(Math.abs(strided.mean[g] - copy.mean[g])).toBeLessThan(1e-12 * (1 + Math.abs(copy.mean[g])));
          expect(Math.abs(strided.variance[g] - copy.variance[g])).toBeLessThan(1e-12 * (1 + copy.variance[g]));
        }
      }
    }
  });

  for (const dtype of ['float64', 'float32'] as const) {
    it(`is stable for mean 1e4 and std 1e-2 in ${dtype} (where E[x²] − E[x]² cancels)`, () => {
      const rand = lcg(3);
      const n = 4096;
      const values = Float64Array.from({ length: n }, () => Math.fround(1e4 + 1e-2 * (rand() * 2 - 1) * Math.sqrt(3)));
      const x = fromArray(values, [n / 4, 4], dtype);
      const stats = groupMoments(x, [1]);
      for (let c = 0; c < 4; c++) {
        const column = Array.from({ length: n / 4 }, (_, r) => values[r * 4 + c]);
        const ref = shiftedReference(column);
        // float64 accumulation: relative error ~1e-16·(mean/std)² ≈ 1e-4 at worst for the
        // variance of values that are only float32-resolved; we observe far better.
        expect(Math.abs(stats.mean[c] - ref.mean) / ref.mean).toBeLessThan(1e-14);
        expect(Math.abs(stats.variance[c] - ref.variance) / ref.variance).toBeLessThan(1e-8);
        // The naive formula loses most digits on the same data: the test can fail.
        let s = 0;
        let s2 = 0;
        for (const v of column) {
          s += v;
          s2 += v * v;
        }
        const naive = s2 / column.length - (s / column.length) ** 2;
        expect(Math.abs(naive - ref.variance) / ref.variance).toBeGreaterThan(1e-6);
      }
    });
  }

  it('returns zero variance for constant groups, never a negative one', () => {
    const stats = groupMoments(fromArray(new Float32Array(12).fill(0.1), [4, 3], 'float32'), [1]);
    for (let c = 0; c < 3; c++) {
      expect(stats.variance[c]).toBe(0);
      expect(stats.mean[c]).toBeCloseTo(Math.fround(0.1), 15);
    }
  });
});

// The contiguous fast path of the moments kernel (one shifted pass over (A, B, C, D) blocks)
// against its general strided path (two passes) on large shapes: long planes, many columns
// with rows % 4 ≠ 0 (the four-row loop and its tail), and more groups than rows.
describe('moments: the contiguous one-pass path equals the strided two-pass path on large inputs', () => {
  const cases: [string, number[], number[]][] = [
    ['long planes (D = 40000, run length % 4 = 0)', [2, 3, 40000], [1]],
    ['many columns (B = 20000 rows of C = 5)', [20000, 5], [1]],
    ['wide columns (C = 20000 groups, B = 3 rows)', [3, 20000], [1]],
    ['rows % 4 = 1, C = 7 (four-row loop and its tail)', [7001, 7], [1]],
    ['planes with A > 1 (instance-norm groups on (N, C, L) channels-last: (N, L, C))', [3, 1001, 6], [0, 2]],
  ];
  for (const [name, shape, axes] of cases) {
    it(name, () => {
      const rand = lcg(shape.reduce((a, b) => a + b, 0));
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Float64Array.from({ length: size }, () => 50 + rand() * 3);
      const x = fromArray(values, shape, 'float64');
      const fast = groupMoments(x, axes);
      // the general strided path (a reversed view of reversed data) as the reference
      const reversed = fromArray(values.slice().reverse(), shape, 'float64').step(...shape.map(() => -1));
      const slow = groupMoments(reversed, axes);
      for (let g = 0; g < fast.mean.length; g++) {
        expect(Math.abs(fast.mean[g] - slow.mean[g]) / 50).toBeLessThan(1e-14);
        expect(Math.abs(fast.variance[g] - slow.variance[g]) / slow.variance[g]).toBeLessThan(1e-12);
      }
    });
  }
});

describe('groupMoments axes', () => {
  it('refuses axes that are out of range, not integers or not ascending (E_OPTION)', () => {
    const x = fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
    for (const axes of [[2], [-1], [1, 0], [0.5], [1, 1]]) {
      let code: string | undefined;
      try {
        groupMoments(x, axes);
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      expect(code).toBe('E_OPTION');
    }
    expect(Array.from(groupMoments(x, [1]).mean)).toEqual([2.5, 3.5, 4.5]);
    expect(Array.from(groupMoments(x, [0]).mean)).toEqual([2, 5]);
  });
});
