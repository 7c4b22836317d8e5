import type { GoldenArray, GoldenCase } from '@normkit/conformance';
import { loadCases } from '@normkit/conformance';
import { CONTRACT_DTYPES, fromArray, normalizeAxis, planNormalization, toTypedArray } from '@normkit/core';
import type { Blocks, Tensor } from '@normkit/core';
import { declaredNextState } from '@normkit/gradcheck';
import { describe, expect, it } from 'vitest';
import { batchRenorm } from './plugin.js';

// What batch renorm declares for @normkit/gradcheck. Its running statistics are batch norm's
// (r and d only change y), so its declared state update replays PyTorch's batch_norm vectors.

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
  const bound = batchRenorm.create(options as never);
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

  it('covers the 12 batch_norm train cases with running statistics, 2 of them multi-step', () => {
    expect(cases.length).toBe(12);
    expect(cases.filter((c) => Array.isArray(c.inputs.xs)).length).toBe(2);
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s: every step within the vectors\' tolerance', (_id, c) => {
    const steps = replay(c, { ...batchRenorm.pytorch!.options(c.options, {}), rmax: 1, dmax: 0 });
    expect(steps.length).toBe(Array.isArray(c.inputs.xs) ? 3 : 1);
    for (const worst of steps) expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('declarations', () => {
  it('the contract\'s dtype rule; batch norm\'s state update; eval differs from train', () => {
    const bound = batchRenorm.create({ numFeatures: 3 });
    expect(bound.dtypes).toEqual(CONTRACT_DTYPES);
    expect(bound.modeIndependent).toBeUndefined();
    expect(bound.stateUpdate!([4, 3])).toEqual({
      kind: 'moving-average',
      channelAxis: 1,
      momentum: 0.1,
      counter: 'numBatchesTracked',
      statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
    });
  });

  /** The contiguous blocks of the statistics of each large shape, channels on `channelAxis`. */
  const blocksOf = (options: { numFeatures: number; channelAxis?: number }): Blocks[] =>
    batchRenorm
      .create(options as never)
      .largeShapes!()
      .map((shape) => {
        const axis = normalizeAxis(options.channelAxis ?? 1, shape.length, 'channelAxis');
        return planNormalization(shape, [axis], [axis]).statsBlocks!;
      });

  it('large shapes reach the planes layout (runs longer than 4 with a remainder) and the columns layout (rows four at a time and a remainder)', () => {
    const blocks = blocksOf({ numFeatures: 3 });
    expect(blocks.some((b) => b.D > 4 && b.D % 4 !== 0)).toBe(true);
    expect(blocks.some((b) => b.D === 1 && b.B > 4 && b.B % 4 !== 0)).toBe(true);
    expect(blocksOf({ numFeatures: 3, channelAxis: -1 }).every((b) => b.D === 1 && b.B > 4 && b.B % 4 !== 0)).toBe(true);
  });
});
