import { recalibrate } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { InstanceNorm } from './layer.js';
import { instanceNorm } from './plugin.js';

function instance(x: Tensor, n: number, c: number): number[] {
  return Array.from({ length: x.shape[2] }, (_, l) => x.get(n, c, l));
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const unbiased = (v: readonly number[]) => {
  const m = mean(v);
  return v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1);
};

// float64 closed forms summed in another order: rtol 1e-12.
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('instance norm and recalibrate (PreciseBN)', () => {
  it("batchMoments reports one group per (sample, channel) ('per-group')", () => {
    const x = randn([3, 2, 4], 1);
    const m = instanceNorm.create({ numFeatures: 2, trackRunningStats: true }).batchMoments!(x);
    expect(m.kind).toBe('per-group');
    expect(m.groups[1]).toHaveLength(3);
    close(m.groups[1][2].mean, mean(instance(x, 2, 1)));
    close(m.groups[1][2].m2 / 3, unbiased(instance(x, 2, 1)));
  });

  it('population statistics: the average over all samples of the per-sample means and unbiased variances (batches equally weighted)', () => {
    const layer = new InstanceNorm({ numFeatures: 2, trackRunningStats: true }, { dtype: 'float64' });
    const batches = [randn([2, 2, 6], 2, 'float64', 1, 2), randn([2, 2, 6], 3, 'float64', -1, 0.5)];
    recalibrate([layer], batches.map((x) => [x]));
    for (let c = 0; c < 2; c++) {
      const samples = batches.flatMap((x) => [0, 1].map((n) => instance(x, n, c)));
      close(layer.runningMean!.get(c), mean(samples.map(mean)));
      close(layer.runningVar!.get(c), mean(samples.map(unbiased)));
    }
  });

  it('is what the layer’s own update converges to on a repeated batch (momentum 1 ⇒ one step)', () => {
    const x = randn([3, 2, 5], 4);
    const stepped = new InstanceNorm({ numFeatures: 2, trackRunningStats: true, momentum: 1 }, { dtype: 'float64' });
    stepped.forward(x);
    const recalibrated = new InstanceNorm({ numFeatures: 2, trackRunningStats: true }, { dtype: 'float64' });
    recalibrate([recalibrated], [[x]]);
    for (let c = 0; c < 2; c++) {
      close(recalibrated.runningMean!.get(c), stepped.runningMean!.get(c));
      close(recalibrated.runningVar!.get(c), stepped.runningVar!.get(c));
    }
  });

  it('refuses a layer without running statistics (E_STATE)', () => {
    const layer = new InstanceNorm({ numFeatures: 2 });
    expect(errorCode(() => recalibrate([layer], [[randn([2, 2, 3], 1, 'float32')]]))).toBe('E_STATE');
  });
});
