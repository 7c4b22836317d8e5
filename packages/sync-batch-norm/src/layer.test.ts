import { BatchNorm } from '@normkit/batch-norm';
import { recalibrate, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { SyncBatchNorm } from './layer.js';

function maxDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  const x = toTypedArray(a as Tensor);
  const y = toTypedArray(b as Tensor);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('SyncBatchNorm (the layer) in one process', () => {
  it('trains and evaluates as BatchNorm, with PyTorch’s state-dict entries, and recalibrates like it', () => {
    const sync = new SyncBatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    for (let step = 0; step < 3; step++) {
      const x = randn([4, 3, 2], step, 'float64', step, 2);
      expect(maxDiff(sync.forward(x), bn.forward(x))).toBe(0);
      const dy = randn([4, 3, 2], 10 + step);
      expect(maxDiff(sync.backward(dy), bn.backward(dy))).toBe(0);
    }
    expect(maxDiff(sync.grads.weight, bn.grads.weight)).toBe(0);
    expect(sync.numBatchesTracked).toBe(3);
    expect(Object.keys(sync.stateDict())).toEqual(['weight', 'bias', 'runningMean', 'runningVar', 'numBatchesTracked']);
    const batches = [1, 2].map((s) => randn([5, 3, 2], s + 20));
    recalibrate([sync, bn], batches.map((x) => [x, x]));
    expect(maxDiff(sync.runningVar, bn.runningVar)).toBe(0);
    sync.eval();
    bn.eval();
    expect(maxDiff(sync.forward(batches[0]), bn.forward(batches[0]))).toBe(0);
  });
});
