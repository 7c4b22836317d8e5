import { fromArray, recalibrate, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './layer.js';
import { batchNorm } from './plugin.js';

function channelValues(batches: readonly Tensor[], c: number): number[] {
  const out: number[] = [];
  for (const x of batches) for (let n = 0; n < x.shape[0]; n++) for (let l = 0; l < x.shape[2]; l++) out.push(x.get(n, c, l));
  return out;
}

// float64 closed forms summed in another order: rtol 1e-12.
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('batch norm and recalibrate (PreciseBN)', () => {
  it('batchMoments reports each channel’s count, mean and m2 over N and L', () => {
    const x = fromArray([1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60], [2, 2, 3], 'float64');
    const m = batchNorm.create({ numFeatures: 2 }).batchMoments!(x);
    expect(m.kind).toBe('pooled');
    expect(m.groups[0]).toHaveLength(1);
    expect(m.groups[0][0].count).toBe(6);
    close(m.groups[0][0].mean, 3.5);
    close(m.groups[0][0].m2, 17.5);
    close(m.groups[1][0].m2, 1750);
  });

  it('sets the running statistics to the exact mean and unbiased variance of all calibration values, replacing the moving average', () => {
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    const batches = [randn([4, 3, 5], 1, 'float64', 2, 3), randn([4, 3, 5], 2, 'float64', -1, 0.5), randn([4, 3, 5], 3)];
    for (const x of batches) bn.forward(x); // the moving average after three steps
    const [result] = recalibrate([bn], batches.map((x) => [x]));
    for (let c = 0; c < 3; c++) {
      const all = channelValues(batches, c);
      const mean = all.reduce((a, b) => a + b, 0) / all.length;
      const unbiased = all.reduce((a, v) => a + (v - mean) ** 2, 0) / (all.length - 1);
      close((bn.runningMean as Tensor).get(c), mean);
      close((bn.runningVar as Tensor).get(c), unbiased);
      close(result.variance[c], unbiased);
    }
    expect(bn.numBatchesTracked).toBe(3);
    // eval now normalizes with the population statistics
    bn.eval();
    const y = bn.forward(batches[0]);
    close(y.get(1, 2, 4), (batches[0].get(1, 2, 4) - result.mean[2]) / Math.sqrt(result.variance[2] + 1e-5));
  });

  it('works on channels-last float32 layers (the float64 result rounded once)', () => {
    const bn = new BatchNorm({ numFeatures: 2, channelAxis: -1 });
    const x = randn([6, 3, 2], 4, 'float32');
    const [result] = recalibrate([bn], [[x]]);
    expect(Array.from(toTypedArray(bn.runningVar!))).toEqual(Array.from(result.variance, Math.fround));
    const column = Array.from({ length: 18 }, (_, i) => x.get(Math.floor(i / 3), i % 3, 1));
    const mean = column.reduce((a, b) => a + b, 0) / 18;
    close(result.mean[1], mean);
  });
});
