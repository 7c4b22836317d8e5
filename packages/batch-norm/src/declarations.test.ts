import type { GoldenArray, GoldenCase } from '@normkit/conformance';
import { loadCases } from '@normkit/conformance';
import { CONTRACT_DTYPES, fromArray, normalizeAxis, planNormalization, toTypedArray } from '@normkit/core';
import type { Blocks, Tensor } from '@normkit/core';
import { declaredNextState } from '@normkit/gradcheck';
import { describe, expect, it } from 'vitest';
import { batchNorm } from './plugin.js';

// What batch norm declares for @normkit/gradcheck: large shapes that reach the engine's
// layouts, the contract's dtype rule, mode independence without running statistics, and the
// state update, shown to be PyTorch's on its vectors (single steps and the multi-step cases).

const tensorOf = (a: GoldenArray): Tensor => fromArray(a.data, a.shape, 'float64');
const list = (v: unknown): GoldenArray[] => (Array.isArray(v) ? (v as GoldenArray[]) : [v as GoldenArray]);

/**
 * Replays the declared state update over the steps of a PyTorch train case (its batches `xs`,
 * or its one `x`), from the case's initial running statistics, and returns, per step, the
 * largest |declared − PyTorch| / (rtol·|PyTorch| + atol) over the running mean, the running
 * variance and the counter (≤ 1 passes; the vectors' tolerances: float64 rtol 1e-10, atol
 * 1e-12; 1e-7 / 1e-8 for the numerically hard case).
 */
function replay(c: GoldenCase, options: object): number[] {
  const bound = batchNorm.create(options as never);
  const [rtol, atol] = c.numericallyHard === true ? [1e-7, 1e-8] : [1e-10, 1e-12];
  const xs = list(c.inputs.xs ?? c.inputs.x).map(tensorOf);
  const expected = c.expected!;
  const means = list(expected.runningMeans ?? expected.runningMean);
  const vars = list(expected.runningVars ?? expected.runningVar);
  const counts = list(expected.numBatchesTrackeds ?? expected.numBatchesTracked);
  let state: Record<string, Tensor> = {
    runningMean: tensorOf(c.inputs.runningMean as GoldenArray),
    runningVar: tensorOf(c.inputs.runningVar as GoldenArray),
    numBatchesTracked: tensorOf(c.inputs.numBatchesTracked as GoldenArray),
  };
  return xs.map((x, step) => {
    const update = bound.stateUpdate!(x.shape);
    if (update === null) throw new Error('no state update declared');
    state = declaredNextState(update, x, state);
    let worst = 0;
    for (const [name, e] of [['runningMean', means[step]], ['runningVar', vars[step]], ['numBatchesTracked', counts[step]]] as const) {
      const got = toTypedArray(state[name]);
      e.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i] - v) / (rtol * Math.abs(v) + atol))));
    }
    return worst;
  });
}

describe('the declared state update is PyTorch\'s', () => {
  const cases = loadCases().filter((c) => c.layer === 'batch_norm' && c.mode === 'train' && !c.expectError && c.options.trackRunningStats !== false);

  it('covers the 12 train cases with running statistics, 2 of them multi-step (3 steps), 3 with a cumulative average', () => {
    expect(cases.length).toBe(12);
    expect(cases.filter((c) => Array.isArray(c.inputs.xs)).map((c) => c.id)).toEqual(['batchnorm-train-multistep-4d-001', 'batchnorm-train-multistep-cma-2d-001']);
    expect(cases.filter((c) => c.options.momentum === null).length).toBe(3);
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s: every step within the vectors\' tolerance', (_id, c) => {
    const steps = replay(c, batchNorm.pytorch!.options(c.options, {}));
    expect(steps.length).toBe(Array.isArray(c.inputs.xs) ? 3 : 1);
    for (const worst of steps) expect(worst).toBeLessThanOrEqual(1);
  });

  it('a wrong declaration fails the multi-step case: the biased variance, or a momentum of 0.9', () => {
    const c = cases.find((k) => k.id === 'batchnorm-train-multistep-4d-001')!;
    const bound = batchNorm.create({ numFeatures: 3 });
    const x = tensorOf(list(c.inputs.xs)[0]);
    const update = bound.stateUpdate!(x.shape)!;
    expect(update).toEqual({ kind: 'moving-average', channelAxis: 1, momentum: 0.1, counter: 'numBatchesTracked', statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' } });
    const state = {
      runningMean: tensorOf(c.inputs.runningMean as GoldenArray),
      runningVar: tensorOf(c.inputs.runningVar as GoldenArray),
      numBatchesTracked: tensorOf(c.inputs.numBatchesTracked as GoldenArray),
    };
    const expectedVar = list(c.expected!.runningVars)[0].data;
    const biased = toTypedArray(declaredNextState({ ...update, statistics: { runningVar: 'variance' } } as never, x, state).runningVar);
    const swapped = toTypedArray(declaredNextState({ ...update, momentum: 0.9 } as never, x, state).runningVar);
    // 192 values in 3 channels: the biased variance is 63/64 of the unbiased one.
    expect(Math.abs(biased[0] - expectedVar[0])).toBeGreaterThan(1e-4);
    expect(Math.abs(swapped[0] - expectedVar[0])).toBeGreaterThan(1e-1);
  });
});

describe('declarations', () => {
  it('the contract\'s dtype rule; mode independence exactly without running statistics; no state update then', () => {
    const tracked = batchNorm.create({ numFeatures: 3 });
    const untracked = batchNorm.create({ numFeatures: 3, trackRunningStats: false });
    expect(tracked.dtypes).toEqual(CONTRACT_DTYPES);
    expect([tracked.modeIndependent, untracked.modeIndependent]).toEqual([false, true]);
    expect(untracked.stateUpdate!([4, 3])).toBeNull();
    expect(batchNorm.create({ numFeatures: 3, channelAxis: -1 }).stateUpdate!([5, 7, 3])).toMatchObject({ channelAxis: 2 });
  });

  /** The contiguous blocks of the statistics of each large shape, as batch norm plans them. */
  const blocksOf = (options: { numFeatures: number; channelAxis?: number }): Blocks[] =>
    batchNorm
      .create(options)
      .largeShapes!()
      .map((shape) => {
        const axis = normalizeAxis(options.channelAxis ?? 1, shape.length, 'channelAxis');
        return planNormalization(shape, [axis], [axis]).statsBlocks!;
      });

  it('large shapes reach the planes layout (runs longer than 4 with a remainder) and the columns layout (rows four at a time and a remainder)', () => {
    const blocks = blocksOf({ numFeatures: 3 });
    expect(blocks.some((b) => b.D > 4 && b.D % 4 !== 0)).toBe(true);
    expect(blocks.some((b) => b.D === 1 && b.B > 4 && b.B % 4 !== 0)).toBe(true);
    const last = blocksOf({ numFeatures: 3, channelAxis: -1 });
    expect(last.every((b) => b.D === 1 && b.B > 4 && b.B % 4 !== 0)).toBe(true);
    for (const shape of batchNorm.create({ numFeatures: 3 }).largeShapes!()) expect(shape.reduce((a, b) => a * b, 1)).toBeLessThanOrEqual(20_000);
  });
});
