import type { GoldenArray, GoldenCase } from '@normkit/conformance';
import { loadCases } from '@normkit/conformance';
import { CONTRACT_DTYPES, fromArray, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { declaredNextState } from '@normkit/gradcheck';
import { describe, expect, it } from 'vitest';
import { ghostBatchNorm } from './plugin.js';

// What ghost batch norm declares for @normkit/gradcheck. Its running statistics come from the
// whole batch (the exact merge of its virtual batches) once per step, so its declared state
// update, with virtual batches of 2, replays PyTorch's batch_norm vectors.

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
  const bound = ghostBatchNorm.create(options as never);
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
    const steps = replay(c, { ...ghostBatchNorm.pytorch!.options(c.options, {}), virtualBatchSize: 2 });
    expect(steps.length).toBe(Array.isArray(c.inputs.xs) ? 3 : 1);
    for (const worst of steps) expect(worst).toBeLessThanOrEqual(1);
  });
});

describe('declarations', () => {
  it('the contract\'s dtype rule; the whole batch\'s state update; eval differs from train even without running statistics', () => {
    const bound = ghostBatchNorm.create({ numFeatures: 3, virtualBatchSize: 2 });
    expect(bound.dtypes).toEqual(CONTRACT_DTYPES);
    expect(ghostBatchNorm.create({ numFeatures: 3, virtualBatchSize: 2, trackRunningStats: false }).modeIndependent).toBeUndefined();
    expect(bound.stateUpdate!([4, 3])).toEqual({
      kind: 'moving-average',
      channelAxis: 1,
      momentum: 0.1,
      counter: 'numBatchesTracked',
      statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
    });
  });

  it('large options and shapes: many virtual batches of 4 to 6 samples, with remainders the plugin accepts', () => {
    for (const options of ghostBatchNorm.largeOptions!) {
      const bound = ghostBatchNorm.create(options);
      const { params, state } = bound.init('float64');
      for (const shape of bound.largeShapes!()) {
        const size = bound.options.virtualBatchSize;
        expect(shape[0]).toBeGreaterThanOrEqual(2 * size);
        expect(shape[0] % size === 0 && shape.length > 2).toBe(false);
        const x = fromArray(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), shape, 'float64');
        expect(() => bound.forward({ x, params, state, mode: 'train' })).not.toThrow();
      }
    }
  });
});
