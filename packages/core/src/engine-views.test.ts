import { describe, expect, it } from 'vitest';
import { batchStatistics, normalizeBackward, normalizeForward } from './engine/ops.js';
import { planNormalization } from './engine/plan.js';
import { sliceAxis, splitAxis, viewOf } from './engine/view.js';
import { fromArray, zeros } from './tensor.js';

// Float64 values in [-2, 2) with no pattern that makes sums cancel exactly.
const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.77) * 2);

describe('engine additions for the batch-norm variants', () => {
  it('sliceAxis views a run of positions of one axis without copying', () => {
    const x = fromArray(values(24, 1), [4, 3, 2], 'float64');
    const tail = sliceAxis(viewOf(x), 0, 3, 1);
    expect(tail.shape).toEqual([1, 3, 2]);
    expect(tail.data).toBe(x.data);
    expect(tail.data[tail.offset + 2 * tail.strides[1] + 1]).toBe(x.get(3, 2, 1));
    const middle = sliceAxis(viewOf(x.transpose(1, 0, 2)), 1, 1, 2);
    expect(middle.data[middle.offset + 1 * middle.strides[0] + 1 * middle.strides[1]]).toBe(x.get(2, 1, 0));
    expect(() => sliceAxis(viewOf(x), 0, 3, 2)).toThrow(/not inside axis 0/);
  });

  it('virtual batches are a group axis: (N, C) split into (N/V, V, C) gives each chunk its own statistics', () => {
    const x = fromArray(values(12, 2), [6, 2], 'float64');
    const split = splitAxis(viewOf(x), 0, [3, 2]);
    const plan = planNormalization(split.shape, [0, 2], [2]);
    const stats = batchStatistics(split, plan, true, 0);
    for (let v = 0; v < 3; v++) {
      for (let c = 0; c < 2; c++) {
        const a = x.get(2 * v, c);
        const b = x.get(2 * v + 1, c);
        expect(stats.center[v * 2 + c]).toBeCloseTo((a + b) / 2, 15);
        expect(stats.variance[v * 2 + c]).toBeCloseTo(((a - b) / 2) ** 2, 15);
      }
    }
  });

  it('reduceGroupSums: a part of a batch, given the whole batch statistics and group sums, gets the whole batch dx (1e-15)', () => {
    const x = fromArray(values(10, 3), [5, 2], 'float64');
    const dy = fromArray(values(10, 4), [5, 2], 'float64');
    const weight = Float64Array.from([1.5, -0.5]);
    const plan = planNormalization([5, 2], [1], [1]);
    const stats = batchStatistics(viewOf(x), plan, true, 1e-5);
    const dxWhole = zeros([5, 2], 'float64');
    let whole: [Float64Array, Float64Array] | null = null;
    normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, {
      centered: true,
      batchStats: true,
      reduceGroupSums: (sumG, sumGCentered) => {
        whole = [sumG.slice(), sumGCentered.slice()];
      },
    }, viewOf(dxWhole));
    // One cell per group (batch norm): the sums come without the group's γ, Σ dy and Σ dy·(x − μ)
    // per channel, by hand (γ is the same on every part of a distributed batch).
    for (let c = 0; c < 2; c++) {
      let g = 0;
      let gc = 0;
      for (let n = 0; n < 5; n++) {
        g += dy.get(n, c);
        gc += dy.get(n, c) * (x.get(n, c) - stats.center[c]);
      }
      expect(whole![0][c]).toBeCloseTo(g, 14);
      expect(whole![1][c]).toBeCloseTo(gc, 14);
    }
    // rows 3..4 alone, with the whole batch's statistics, sums and count
    const part = sliceAxis(viewOf(x), 0, 3, 2);
    const partDy = sliceAxis(viewOf(dy), 0, 3, 2);
    const partPlan = planNormalization([2, 2], [1], [1]);
    const dxPart = zeros([2, 2], 'float64');
    const sums = normalizeBackward(part, partDy, partPlan, stats, weight, {
      centered: true,
      batchStats: true,
      count: 5,
      reduceGroupSums: (sumG, sumGCentered) => {
        sumG.set(whole![0]);
        sumGCentered.set(whole![1]);
      },
    }, viewOf(dxPart));
    for (let n = 0; n < 2; n++) for (let c = 0; c < 2; c++) expect(Math.abs(dxPart.get(n, c) - dxWhole.get(n + 3, c))).toBeLessThan(1e-15);
    // the parameter sums stay the part's own: Σ dy over rows 3..4
    expect(sums!.sumDy[0]).toBeCloseTo(dy.get(3, 0) + dy.get(4, 0), 15);
  });

  it('reduceGroupSums is refused by the rows layout (layer norm), which fuses its reductions', () => {
    const x = fromArray(values(6, 5), [2, 3], 'float64');
    const plan = planNormalization([2, 3], [0], [1]);
    const y = zeros([2, 3], 'float64');
    const stats = batchStatistics(viewOf(x), plan, true, 1e-5);
    normalizeForward(viewOf(x), plan, stats, null, null, viewOf(y));
    expect(() =>
      normalizeBackward(viewOf(x), viewOf(x), plan, stats, new Float64Array(3).fill(1), { centered: true, batchStats: true, reduceGroupSums: () => {} }, viewOf(zeros([2, 3], 'float64'))),
    ).toThrow(/rows layout/);
  });
});
