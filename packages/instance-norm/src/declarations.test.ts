import { CONTRACT_DTYPES, fromArray, normalizeAxis, planNormalization, toTypedArray } from '@normkit/core';
import { declaredNextState } from '@normkit/gradcheck';
import { describe, expect, it } from 'vitest';
import { instanceNorm } from './plugin.js';

// What instance norm declares for @normkit/gradcheck. The PyTorch vectors have no instance-norm
// case with running statistics, so the declared state update is checked against a closed form
// computed by hand (and @normkit/gradcheck checks it against forward at every seed).

describe('the declared state update', () => {
  // x (N = 2, C = 2, L = 3). Channel 0: samples [1, 2, 3] (mean 2, unbiased variance 1) and
  // [2, 4, 6] (4, 4); channel 1: [0, 0, 3] (1, 3) and [1, 1, 1] (1, 0). PyTorch averages each
  // sample's statistics: channel 0 mean 3, variance 2.5; channel 1 mean 1, variance 1.5.
  const x = fromArray([1, 2, 3, 0, 0, 3, 2, 4, 6, 1, 1, 1], [2, 2, 3], 'float64');
  const bound = instanceNorm.create({ numFeatures: 2, trackRunningStats: true, momentum: 0.1 });
  const { state } = bound.init('float64');

  it('is the average over samples of each sample\'s mean and unbiased variance, with momentum, and does not count steps', () => {
    const update = bound.stateUpdate!(x.shape)!;
    expect(update).toEqual({
      kind: 'moving-average',
      channelAxis: 1,
      averagedAxes: [0],
      momentum: 0.1,
      counter: 'numBatchesTracked',
      countsSteps: false,
      statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
    });
    const next = declaredNextState(update, x, state as never);
    // (1 − 0.1)·[0, 0] + 0.1·[3, 1]; (1 − 0.1)·[1, 1] + 0.1·[2.5, 1.5]
    expect(Array.from(toTypedArray(next.runningMean))).toEqual([0.1 * 3, 0.1 * 1]);
    expect(Array.from(toTypedArray(next.runningVar))).toEqual([0.9 + 0.1 * 2.5, 0.9 + 0.1 * 1.5]);
    expect(Array.from(toTypedArray(next.numBatchesTracked))).toEqual([0]);
  });

  it('equals what forward returns, within 1e-15', () => {
    const { params } = bound.init('float64');
    const forward = bound.forward({ x, params, state, mode: 'train' }).state;
    const declared = declaredNextState(bound.stateUpdate!(x.shape)!, x, state as never);
    for (const name of ['runningMean', 'runningVar'] as const) {
      const a = toTypedArray(forward[name]!);
      const b = toTypedArray(declared[name]);
      a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(1e-15));
    }
  });
});

describe('declarations', () => {
  it('the contract\'s dtype rule; mode independence exactly without running statistics; no state update then', () => {
    const untracked = instanceNorm.create({ numFeatures: 3 });
    expect(untracked.dtypes).toEqual(CONTRACT_DTYPES);
    expect([untracked.modeIndependent, instanceNorm.create({ numFeatures: 3, trackRunningStats: true }).modeIndependent]).toEqual([true, false]);
    expect(untracked.stateUpdate!([2, 3, 5])).toBeNull();
  });

  it('large shapes reach the planes layout (runs of 37 and 667) and, channels last, the columns layout with A > 1', () => {
    const blocksOf = (options: { numFeatures: number; channelAxis?: number }) =>
      instanceNorm
        .create(options)
        .largeShapes!()
        .map((shape) => planNormalization(shape, [0, normalizeAxis(options.channelAxis ?? 1, shape.length, 'channelAxis')], null).statsBlocks!);
    expect(blocksOf({ numFeatures: 3 }).map((b) => b.D)).toEqual([37, 667]);
    const last = blocksOf({ numFeatures: 3, channelAxis: -1 });
    expect(last.every((b) => b.A > 1 && b.D === 1 && b.B > 4 && b.B % 4 !== 0)).toBe(true);
  });
});
