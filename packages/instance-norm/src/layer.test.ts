import { fromArray, toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { InstanceNorm } from './layer.js';

describe('InstanceNorm layer', () => {
  it('tracks running statistics in train mode and uses them in eval mode', () => {
    const layer = new InstanceNorm({ numFeatures: 2, trackRunningStats: true }, { dtype: 'float64' });
    const x = randn([4, 2, 6], 1);
    layer.forward(x);
    const mean = Array.from(toTypedArray(layer.runningMean!));
    expect(mean.some((v) => v !== 0)).toBe(true);
    layer.eval();
    const y = layer.forward(x);
    expect(y.get(0, 1, 2)).toBeCloseTo((x.get(0, 1, 2) - mean[1]) / Math.sqrt(layer.runningVar!.get(1) + 1e-5), 13);
  });

  it('has neither parameters nor state by default', () => {
    const layer = new InstanceNorm({ numFeatures: 3 });
    expect(layer.weight).toBeUndefined();
    expect(layer.runningMean).toBeUndefined();
    expect(layer.stateNames).toEqual([]);
  });

  it('has numBatchesTracked as batch norm does; PyTorch never increments it for instance norm', () => {
    const tracked = new InstanceNorm({ numFeatures: 2, trackRunningStats: true }, { dtype: 'float64' });
    tracked.forward(randn([4, 2, 6], 1));
    expect(tracked.numBatchesTracked).toBe(0);
    tracked.loadStateDict({ ...tracked.stateDict(), numBatchesTracked: fromArray([7], [], 'float64') });
    expect(tracked.numBatchesTracked).toBe(7);
    expect(new InstanceNorm({ numFeatures: 2 }).numBatchesTracked).toBe(0);
  });
});
