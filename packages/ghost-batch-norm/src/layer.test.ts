import { BatchNorm } from '@normkit/batch-norm';
import { recalibrate, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { GhostBatchNorm } from './layer.js';

function maxDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  const x = toTypedArray(a as Tensor);
  const y = toTypedArray(b as Tensor);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('GhostBatchNorm (the layer)', () => {
  it('trains over virtual batches, keeps batch norm’s running statistics (rtol 1e-14) and its state loads into BatchNorm for eval', () => {
    const ghost = new GhostBatchNorm({ numFeatures: 3, virtualBatchSize: 4 }, { dtype: 'float64' });
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    for (let step = 0; step < 3; step++) {
      const x = randn([10, 3, 2], step, 'float64', step, 1 + step);
      expect(maxDiff(ghost.forward(x), bn.forward(x))).toBeGreaterThan(1e-3); // different statistics in training
      ghost.backward(randn([10, 3, 2], 10 + step));
    }
    expect(ghost.numBatchesTracked).toBe(3);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(ghost.runningVar!.get(c) - bn.runningVar!.get(c))).toBeLessThan(1e-14 * bn.runningVar!.get(c));
    }
    const inference = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    inference.loadStateDict(ghost.stateDict());
    ghost.eval();
    inference.eval();
    const x = randn([3, 3, 2], 20);
    expect(maxDiff(ghost.forward(x), inference.forward(x))).toBe(0);
  });

  it('recalibrates like batch norm (PreciseBN), from the virtual batches’ moments (rtol 1e-13)', () => {
    const ghost = new GhostBatchNorm({ numFeatures: 2, virtualBatchSize: 3 }, { dtype: 'float64' });
    const bn = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    const batches = [1, 2, 3].map((s) => randn([8, 2, 3], s, 'float64', s, 2));
    recalibrate([ghost, bn], batches.map((x) => [x, x]));
    for (let c = 0; c < 2; c++) {
      expect(Math.abs(ghost.runningMean!.get(c) - bn.runningMean!.get(c))).toBeLessThan(1e-13 * Math.max(1, Math.abs(bn.runningMean!.get(c))));
      expect(Math.abs(ghost.runningVar!.get(c) - bn.runningVar!.get(c))).toBeLessThan(1e-13 * bn.runningVar!.get(c));
    }
  });
});
