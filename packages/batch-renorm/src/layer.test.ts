import { BatchNorm } from '@normkit/batch-norm';
import { recalibrate, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchRenorm } from './layer.js';
import { batchRenormSchedule } from './schedule.js';

function maxDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  const x = toTypedArray(a as Tensor);
  const y = toTypedArray(b as Tensor);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('BatchRenorm (the layer)', () => {
  it('is batch norm during the default warm-up, then corrects; its state loads into BatchNorm for eval (same output)', () => {
    const schedule = batchRenormSchedule({ warmupSteps: 1, rmaxSteps: 4, dmaxSteps: 4 });
    const renorm = new BatchRenorm({ numFeatures: 3, ...schedule }, { dtype: 'float64' });
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    const batches = [0, 1, 2, 3].map((s) => randn([5, 3, 2], s, 'float64', s, 1 + s));
    const dy = randn([5, 3, 2], 9);
    for (const [step, x] of batches.entries()) {
      const a = renorm.forward(x);
      const b = bn.forward(x);
      const dxa = renorm.backward(dy);
      const dxb = bn.backward(dy);
      if (step <= 1) {
        expect(maxDiff(a, b)).toBe(0);
        expect(maxDiff(dxa, dxb)).toBe(0);
      } else {
        expect(maxDiff(a, b)).toBeGreaterThan(1e-3);
      }
    }
    expect(renorm.numBatchesTracked).toBe(4);
    // the running statistics follow batch norm's rule: identical after the same batches
    expect(maxDiff(renorm.runningMean, bn.runningMean)).toBe(0);
    expect(maxDiff(renorm.runningVar, bn.runningVar)).toBe(0);
    const inference = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    inference.loadStateDict(renorm.stateDict());
    renorm.eval();
    inference.eval();
    expect(maxDiff(renorm.forward(batches[0]), inference.forward(batches[0]))).toBe(0);
  });

  it('recalibrates like batch norm (PreciseBN): the same population statistics from the same batches', () => {
    const renorm = new BatchRenorm({ numFeatures: 2, rmax: 3, dmax: 5 }, { dtype: 'float64' });
    const bn = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    const batches = [1, 2, 3].map((s) => [randn([4, 2, 3], s, 'float64', s, 2)]);
    recalibrate([renorm, bn], batches.map(([x]) => [x, x]));
    expect(maxDiff(renorm.runningMean, bn.runningMean)).toBe(0);
    expect(maxDiff(renorm.runningVar, bn.runningVar)).toBe(0);
    expect(renorm.weight?.data).toBeInstanceOf(Float64Array);
    expect(renorm.bias?.get(0)).toBe(0);
  });
});
