import { batchNorm } from '@normkit/batch-norm';
import { fromArray, full, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { batchRenorm } from './plugin.js';

function maxDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  const x = toTypedArray(a as Tensor);
  const y = toTypedArray(b as Tensor);
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** A renorm state whose running statistics are given (counter 0). */
function stateOf(mean: readonly number[], variance: readonly number[], dtype: 'float32' | 'float64' = 'float64') {
  return {
    runningMean: fromArray(mean, [mean.length], dtype),
    runningVar: fromArray(variance, [variance.length], dtype),
    numBatchesTracked: full([], 'float64', 0),
  };
}

describe('batch renorm with rmax = 1, dmax = 0 is batch norm, exactly', () => {
  const cases = [
    { options: { numFeatures: 3 }, shape: [6, 3, 4] },
    { options: { numFeatures: 3, affine: false }, shape: [5, 3] },
    { options: { numFeatures: 2, momentum: null }, shape: [3, 2, 2, 3] },
    { options: { numFeatures: 4, channelAxis: -1 }, shape: [2, 3, 4] },
  ] as const;
  for (const dtype of ['float64', 'float32'] as const) {
    for (const { options, shape } of cases) {
      it(`${JSON.stringify(options)} on [${shape.join(', ')}] in ${dtype}: y, dx, dγ, dβ and the running statistics agree bit for bit, in train and eval`, () => {
        const renorm = batchRenorm.create({ ...options, rmax: 1, dmax: 0 });
        const bn = batchNorm.create(options);
        // params away from (1, 0) and running statistics away from the batch's, so r and d would matter
        const init = bn.init(dtype);
        const params = 'weight' in init.params ? { weight: randn([options.numFeatures], 7, dtype, 1, 0.5), bias: randn([options.numFeatures], 8, dtype) } : {};
        const state = { ...init.state, runningMean: randn([options.numFeatures], 9, dtype, 2), runningVar: full([options.numFeatures], dtype, 4) };
        const x = randn([...shape], 1, dtype, 0.5, 2);
        const dy = randn([...shape], 2, dtype);
        for (const mode of ['train', 'eval'] as const) {
          const a = renorm.forward({ x, params, state, mode });
          const b = bn.forward({ x, params, state, mode });
          expect(maxDiff(a.y, b.y)).toBe(0);
          for (const name of ['runningMean', 'runningVar', 'numBatchesTracked'] as const) expect(maxDiff(a.state[name], b.state[name])).toBe(0);
          const ga = renorm.backward({ dy, params, saved: a.saved });
          const gb = bn.backward({ dy, params, saved: b.saved });
          expect(maxDiff(ga.dx, gb.dx)).toBe(0);
          if ('weight' in params) {
            expect(maxDiff(ga.grads.weight, gb.grads.weight)).toBe(0);
            expect(maxDiff(ga.grads.bias, gb.grads.bias)).toBe(0);
          }
        }
      });
    }
  }
});

describe('batch renorm (Ioffe 2017, Algorithm 1)', () => {
  // Channel 0: [1, 2, 3, 6] (μ_B 3, biased var 3.5); channel 1: [0, 0, 4, 4] (μ_B 2, var 4).
  const x = fromArray([1, 0, 2, 0, 3, 4, 6, 4], [4, 2], 'float64');
  const eps = 1e-5;

  it('corrects by r = σ_B/σ and d = (μ_B − μ)/σ when inside the limits (closed form, 1e-14)', () => {
    const renorm = batchRenorm.create({ numFeatures: 2, rmax: 3, dmax: 5, eps });
    const params = { weight: fromArray([2, -1], 'float64'), bias: fromArray([0.5, 1], 'float64') };
    const state = stateOf([1, -1], [2, 5]);
    const { y, saved, state: next } = renorm.forward({ x, params, state, mode: 'train' });
    const sigmaB = [Math.sqrt(3.5 + eps), Math.sqrt(4 + eps)];
    const sigma = [Math.sqrt(2 + eps), Math.sqrt(5 + eps)];
    const r = [sigmaB[0] / sigma[0], sigmaB[1] / sigma[1]];
    const d = [(3 - 1) / sigma[0], (2 + 1) / sigma[1]];
    for (let c = 0; c < 2; c++) {
      expect(saved.r[c]).toBeCloseTo(r[c], 14);
      expect(saved.d[c]).toBeCloseTo(d[c], 14);
    }
    const gamma = [2, -1];
    const beta = [0.5, 1];
    const mu = [3, 2];
    for (let n = 0; n < 4; n++) {
      for (let c = 0; c < 2; c++) {
        const xhat = ((x.get(n, c) - mu[c]) / sigmaB[c]) * r[c] + d[c];
        expect(y.get(n, c)).toBeCloseTo(xhat * gamma[c] + beta[c], 14);
        // unclipped: x̂ = (x − μ)/σ, normalization by the running statistics
        expect(xhat).toBeCloseTo((x.get(n, c) - [1, -1][c]) / sigma[c], 14);
      }
    }
    // running statistics: batch norm's rule, unbiased batch variance (3.5·4/3, 4·4/3)
    expect(next.runningMean!.get(0)).toBeCloseTo(0.9 * 1 + 0.1 * 3, 15);
    expect(next.runningVar!.get(1)).toBeCloseTo(0.9 * 5 + 0.1 * (16 / 3), 14);
    expect(next.numBatchesTracked!.get()).toBe(1);
  });

  it('clips r to [1/rmax, rmax] and d to [−dmax, dmax]', () => {
    const renorm = batchRenorm.create({ numFeatures: 2, rmax: 2, dmax: 0.5, affine: false });
    // σ = 10 ≫ σ_B: r → 1/2; running mean far above: d → −0.5. Channel 1: σ = 0.1 ≪ σ_B: r → 2; d → +0.5
    const { saved, y } = renorm.forward({ x, params: {}, state: stateOf([50, -30], [100, 0.01]), mode: 'train' });
    expect(Array.from(saved.r)).toEqual([0.5, 2]);
    expect(Array.from(saved.d)).toEqual([-0.5, 0.5]);
    expect(y.get(3, 0)).toBeCloseTo(((6 - 3) / Math.sqrt(3.5 + eps)) * 0.5 - 0.5, 14);
  });

  it('backward treats r and d as constants: dx is batch norm’s with γ·r, dγ = r·Σdy·x̂_B + d·Σdy (1e-14)', () => {
    const renorm = batchRenorm.create({ numFeatures: 3, rmax: 3, dmax: 5 });
    const xs = randn([5, 3, 2], 3, 'float64', 1, 2);
    const dy = randn([5, 3, 2], 4);
    const params = { weight: fromArray([1.5, -0.5, 2], 'float64'), bias: fromArray([0, 1, -1], 'float64') };
    const fwd = renorm.forward({ x: xs, params, state: stateOf([0.5, 1, 1.5], [2, 3, 5]), mode: 'train' });
    const { r, d } = fwd.saved;
    expect(r.some((v) => v !== 1) && d.some((v) => v !== 0)).toBe(true);
    const { dx, grads } = renorm.backward({ dy, params, saved: fwd.saved });
    // batch norm on the same batch, with γ·r as its weight
    const bn = batchNorm.create({ numFeatures: 3, trackRunningStats: false });
    const scaled = { weight: fromArray([0, 1, 2].map((c) => params.weight.get(c) * r[c]), 'float64'), bias: params.bias };
    const ref = bn.backward({ dy, params: scaled, saved: bn.forward({ x: xs, params: scaled, state: {}, mode: 'train' }).saved });
    expect(maxDiff(dx, ref.dx)).toBeLessThan(1e-14);
    expect(maxDiff(grads.bias, ref.grads.bias)).toBeLessThan(1e-14);
    for (let c = 0; c < 3; c++) {
      expect(grads.weight!.get(c)).toBeCloseTo(r[c] * ref.grads.weight!.get(c) + d[c] * ref.grads.bias!.get(c), 13);
    }
  });

  it('eval is batch norm’s eval: the running statistics, r = 1, d = 0, and nothing changes', () => {
    const renorm = batchRenorm.create({ numFeatures: 2, rmax: 3, dmax: 5 });
    const state = stateOf([1, -1], [4, 0.25]);
    const { y, state: next, saved } = renorm.forward({ x, params: { weight: fromArray([2, 1], 'float64'), bias: fromArray([0, 3], 'float64') }, state, mode: 'eval' });
    expect(next).toBe(state);
    expect(Array.from(saved.r)).toEqual([1, 1]);
    expect(y.get(3, 1)).toBeCloseTo(((4 + 1) / Math.sqrt(0.25 + 1e-5)) * 1 + 3, 13);
  });

  it('evaluates schedules at the step numBatchesTracked (the default is the paper’s: batch norm for 5000 steps)', () => {
    const atStep = (step: number, options: object) => {
      const state = { ...stateOf([50, -30], [100, 0.01]), numBatchesTracked: full([], 'float64', step) };
      return batchRenorm.create({ numFeatures: 2, affine: false, ...options }).forward({ x, params: {}, state, mode: 'train' });
    };
    expect(Array.from(atStep(4999, {}).saved.r)).toEqual([1, 1]);
    expect(Array.from(atStep(4999, {}).saved.d, Math.abs)).toEqual([0, 0]);
    // linear ramp: rmax(22500) = 1 + 2·17500/35000 = 2, dmax(22500) = 5·17500/20000 = 4.375
    const mid = atStep(22500, {});
    expect(Array.from(mid.saved.r)).toEqual([0.5, 2]);
    expect(mid.saved.d[0]).toBe(-4.375);
    expect(mid.state.numBatchesTracked!.get()).toBe(22501);
    // a function of the step of one's own
    expect(Array.from(atStep(3, { rmax: (step: number) => step, dmax: 0 }).saved.r)).toEqual([1 / 3, 3]);
  });

  it('refuses bad limits (E_OPTION) and a schedule that returns one, before changing anything', () => {
    expect(errorCode(() => batchRenorm.create({ numFeatures: 2, rmax: 0.5 }))).toBe('E_OPTION');
    expect(errorCode(() => batchRenorm.create({ numFeatures: 2, dmax: -1 }))).toBe('E_OPTION');
    expect(errorCode(() => batchRenorm.create({ numFeatures: 2, rmax: Number.NaN }))).toBe('E_OPTION');
    expect(errorCode(() => batchRenorm.create({ numFeatures: 2, trackRunningStats: false } as never))).toBe('E_OPTION');
    expect(errorCode(() => batchRenorm.create({ numFeatures: 2, rmax: Infinity, dmax: Infinity }))).toBeUndefined();
    const renorm = batchRenorm.create({ numFeatures: 2, rmax: () => Number.NaN });
    const state = stateOf([0, 0], [1, 1]);
    expect(errorCode(() => renorm.forward({ x, params: { weight: fromArray([1, 1], 'float64'), bias: fromArray([0, 0], 'float64') }, state, mode: 'train' }))).toBe('E_OPTION');
    expect(state.numBatchesTracked.get()).toBe(0);
    // eval does not read the limits
    expect(errorCode(() => renorm.forward({ x, params: { weight: fromArray([1, 1], 'float64'), bias: fromArray([0, 0], 'float64') }, state, mode: 'eval' }))).toBeUndefined();
  });

  it('refuses one value per channel in training (E_DEGENERATE) and a foreign saved value (E_STATE)', () => {
    const renorm = batchRenorm.create({ numFeatures: 2, affine: false });
    const state = stateOf([0, 0], [1, 1]);
    expect(errorCode(() => renorm.forward({ x: fromArray([1, 2], [1, 2], 'float64'), params: {}, state, mode: 'train' }))).toBe('E_DEGENERATE');
    const saved = batchNorm.create({ numFeatures: 2, affine: false }).forward({ x, params: {}, state, mode: 'train' }).saved;
    expect(errorCode(() => renorm.backward({ dy: x, params: {}, saved: saved as never }))).toBe('E_STATE');
  });
});
