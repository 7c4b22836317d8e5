import { dtypeOf, fromArray, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { instanceNorm } from './plugin.js';

function values(t: Tensor | undefined): number[] {
  return Array.from(toTypedArray(t as Tensor));
}

function maxDiff(a: Tensor, b: Tensor): number {
  const x = toTypedArray(a);
  const y = toTypedArray(b);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('instance norm', () => {
  it('defaults to no parameters and no running statistics, as PyTorch', () => {
    const inorm = instanceNorm.create({ numFeatures: 3 });
    expect(inorm.paramShapes()).toEqual({});
    expect(inorm.stateShapes()).toEqual({});
    expect(inorm.options).toEqual({ numFeatures: 3, eps: 1e-5, momentum: 0.1, affine: false, trackRunningStats: false, channelAxis: 1, spatialDims: null });
  });

  it('each sample normalized alone equals batch norm of that sample (1e-14)', () => {
    const x = randn([3, 2, 7], 1);
    const { y } = instanceNorm.create({ numFeatures: 2 }).forward({ x, params: {}, state: {}, mode: 'train' });
    const bn = batchNorm.create({ numFeatures: 2, affine: false, trackRunningStats: false });
    for (let n = 0; n < 3; n++) {
      const one = randn([1, 2, 7], 1);
      for (let c = 0; c < 2; c++) for (let l = 0; l < 7; l++) one.set(0, c, l, x.get(n, c, l));
      const expected = bn.forward({ x: one, params: {}, state: {}, mode: 'train' }).y;
      let m = 0;
      for (let c = 0; c < 2; c++) for (let l = 0; l < 7; l++) m = Math.max(m, Math.abs(y.get(n, c, l) - expected.get(0, c, l)));
      expect(m).toBeLessThan(1e-14);
    }
  });

  it('with tracking, train moves the running statistics towards the batch mean of the per-sample means and unbiased variances; numBatchesTracked stays (PyTorch)', () => {
    // Channel 0: sample 0 = [1, 2, 3] (mean 2, unbiased var 1), sample 1 = [4, 6, 8] (mean 6, var 4).
    // Channel 1: sample 0 = [0, 0, 3] (mean 1, var 3), sample 1 = [1, 1, 1] (mean 1, var 0).
    const x = fromArray([1, 2, 3, 0, 0, 3, 4, 6, 8, 1, 1, 1], [2, 2, 3], 'float64');
    const inorm = instanceNorm.create({ numFeatures: 2, trackRunningStats: true, momentum: 0.25 });
    const { state } = inorm.init('float64');
    const next = inorm.forward({ x, params: {}, state, mode: 'train' }).state;
    expect(values(next.runningMean)).toEqual([0.75 * 0 + 0.25 * 4, 0.75 * 0 + 0.25 * 1]);
    const runVar = values(next.runningVar);
    expect(runVar[0]).toBeCloseTo(0.75 * 1 + 0.25 * 2.5, 14);
    expect(runVar[1]).toBeCloseTo(0.75 * 1 + 0.25 * 1.5, 14);
    expect(values(next.numBatchesTracked)).toEqual([0]);
    expect(values(state.runningMean)).toEqual([0, 0]);
  });

  it('eval with tracking normalizes with the running statistics; eval without tracking uses the instance statistics', () => {
    const x = randn([2, 2, 4], 3);
    const tracked = instanceNorm.create({ numFeatures: 2, trackRunningStats: true });
    const state = { runningMean: fromArray([1, -1], [2], 'float64'), runningVar: fromArray([4, 0.25], [2], 'float64'), numBatchesTracked: zeros([], 'float64') };
    const { y } = tracked.forward({ x, params: {}, state, mode: 'eval' });
    expect(y.get(1, 0, 2)).toBeCloseTo((x.get(1, 0, 2) - 1) / Math.sqrt(4 + 1e-5), 14);
    expect(y.get(0, 1, 3)).toBeCloseTo((x.get(0, 1, 3) + 1) / Math.sqrt(0.25 + 1e-5), 14);
    const untracked = instanceNorm.create({ numFeatures: 2 });
    const train = untracked.forward({ x, params: {}, state: {}, mode: 'train' }).y;
    const evalY = untracked.forward({ x, params: {}, state: {}, mode: 'eval' }).y;
    expect(values(evalY)).toEqual(values(train));
  });

  it('channels-last equals channels-first on the same values (1e-14)', () => {
    const first = randn([2, 3, 4, 2], 4);
    const params = { weight: randn([3], 5), bias: randn([3], 6) };
    const a = instanceNorm.create({ numFeatures: 3, affine: true }).forward({ x: first, params, state: {}, mode: 'train' }).y;
    const b = instanceNorm.create({ numFeatures: 3, affine: true, channelAxis: -1 }).forward({ x: first.transpose(0, 2, 3, 1), params, state: {}, mode: 'train' }).y;
    expect(maxDiff(a.transpose(0, 2, 3, 1), b)).toBeLessThan(1e-14);
  });

  it('refuses one spatial element with instance statistics (E_DEGENERATE), without changing the state; allows it in eval with running statistics', () => {
    const inorm = instanceNorm.create({ numFeatures: 2, trackRunningStats: true });
    const { state } = inorm.init('float64');
    const x = randn([3, 2, 1], 7);
    expect(errorCode(() => inorm.forward({ x, params: {}, state, mode: 'train' }))).toBe('E_DEGENERATE');
    expect(values(state.runningMean)).toEqual([0, 0]);
    expect(values(state.runningVar)).toEqual([1, 1]);
    expect(errorCode(() => inorm.forward({ x, params: {}, state, mode: 'eval' }))).toBeUndefined();
  });

  it('refuses momentum null, a rank-2 input and a wrong channel count', () => {
    expect(errorCode(() => instanceNorm.create({ numFeatures: 2, momentum: null as unknown as number }))).toBe('E_OPTION');
    const inorm = instanceNorm.create({ numFeatures: 2 });
    expect(errorCode(() => inorm.forward({ x: zeros([4, 2], 'float64'), params: {}, state: {}, mode: 'train' }))).toBe('E_SHAPE');
    expect(errorCode(() => inorm.forward({ x: zeros([4, 3, 5], 'float64'), params: {}, state: {}, mode: 'train' }))).toBe('E_SHAPE');
  });
});

describe('unbatched input with spatialDims (PyTorch ≥ 1.11: InstanceNorm1d on (C, L), 2d on (C, H, W))', () => {
  /** The batch of one `(1, …shape)` holding the same values as `t`. */
  function withBatchAxis(t: Tensor): Tensor {
    return fromArray(toTypedArray(t), [1, ...t.shape], dtypeOf(t));
  }

  it.each([
    ['(C, L), spatialDims 1', { spatialDims: 1 as const }, [3, 7]],
    ['(C, H, W), spatialDims 2', { spatialDims: 2 as const }, [3, 4, 5]],
    ['(H, W, C) channels-last, spatialDims 2', { spatialDims: 2 as const, channelAxis: -1 }, [4, 5, 3]],
  ])('%s: y, running statistics, dx and parameter gradients equal the batch of one, exactly', (_, extra, shape) => {
    const options = { numFeatures: 3, affine: true, trackRunningStats: true, ...extra };
    const inorm = instanceNorm.create(options);
    const { params } = inorm.init('float64');
    const weight = fromArray([0.5, -1.25, 2], [3], 'float64');
    const bias = fromArray([0.1, 0.2, -0.3], [3], 'float64');
    const x = randn(shape, 4, 'float64', 0.7, 1.3);
    const dy = randn(shape, 5, 'float64');
    // Running statistics that differ per channel, so that eval shows a channel mix-up.
    const tracked = { ...inorm.init('float64').state, runningMean: fromArray([0.3, -0.2, 0.5], [3], 'float64'), runningVar: fromArray([1.5, 0.7, 2], [3], 'float64') };
    for (const mode of ['train', 'eval'] as const) {
      const state = tracked;
      const single = inorm.forward({ x, params: { weight, bias }, state, mode });
      const batched = inorm.forward({ x: withBatchAxis(x), params: { weight, bias }, state, mode });
      expect(single.y.shape).toEqual(shape);
      expect(values(single.y)).toEqual(values(batched.y));
      expect(values(single.state.runningMean)).toEqual(values(batched.state.runningMean));
      expect(values(single.state.runningVar)).toEqual(values(batched.state.runningVar));
      const back = inorm.backward({ dy, params: { weight, bias }, saved: single.saved });
      const backBatched = inorm.backward({ dy: withBatchAxis(dy), params: { weight, bias }, saved: batched.saved });
      expect(back.dx.shape).toEqual(shape);
      expect(values(back.dx)).toEqual(values(backBatched.dx));
      expect(values(back.grads.weight)).toEqual(values(backBatched.grads.weight));
      expect(values(back.grads.bias)).toEqual(values(backBatched.grads.bias));
    }
    expect(Object.keys(params)).toEqual(['weight', 'bias']);
  });

  it('train on (C, L) normalizes each channel over L (closed form, 1e-12)', () => {
    const x = fromArray([1, 2, 3, 4, 10, 20, 30, 40], [2, 4], 'float64');
    const { y } = instanceNorm.create({ numFeatures: 2, spatialDims: 1 }).forward({ x, params: {}, state: {}, mode: 'train' });
    // Each row has mean 2.5 (or 25) and biased variance 1.25 (or 125): y = (x − μ)/√(σ² + 1e-5).
    const expected = [1, 2, 3, 4, 10, 20, 30, 40].map((v, i) => (i < 4 ? (v - 2.5) / Math.sqrt(1.25 + 1e-5) : (v - 25) / Math.sqrt(125 + 1e-5)));
    const got = values(y);
    for (let i = 0; i < 8; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-12);
  });

  it('refuses other ranks (E_SHAPE, naming both) and a bad spatialDims (E_OPTION); no spatialDims still refuses rank 2', () => {
    const inorm = instanceNorm.create({ numFeatures: 3, spatialDims: 2 });
    const rank2 = errorOf(() => inorm.forward({ x: randn([3, 4], 1), params: {}, state: {}, mode: 'train' }));
    expect(rank2?.code).toBe('E_SHAPE');
    expect(rank2?.message).toMatch(/rank 3 \(unbatched\) or 4 \(batched\) for spatialDims 2, got shape \[3, 4\]/);
    const scalar = errorOf(() => inorm.forward({ x: randn([], 1), params: {}, state: {}, mode: 'train' }));
    expect(scalar?.message).toMatch(/rank 3 \(unbatched\) or 4 \(batched\) for spatialDims 2, got shape \[\]/);
    const rank5 = errorOf(() => inorm.forward({ x: randn([2, 3, 4, 4, 4], 1), params: {}, state: {}, mode: 'train' }));
    expect(rank5?.code).toBe('E_SHAPE');
    expect(rank5?.message).toMatch(/rank 3 \(unbatched\) or 4 \(batched\) for spatialDims 2/);
    const channels = errorOf(() => inorm.forward({ x: randn([4, 4, 4], 1), params: {}, state: {}, mode: 'train' }));
    expect(channels?.message).toMatch(/expected 3 channels \(numFeatures\) on axis 0/);
    // With spatialDims the channel axis is checked at creation: an axis of the rank-4 batched input after axis 0.
    for (const channelAxis of [1, 2, 3, -1, -2, -3]) expect(errorCode(() => instanceNorm.create({ numFeatures: 3, spatialDims: 2, channelAxis }))).toBeUndefined();
    for (const channelAxis of [4, -4, 7]) {
      const bad = errorOf(() => instanceNorm.create({ numFeatures: 3, spatialDims: 2, channelAxis }));
      expect(bad?.code).toBe('E_OPTION');
      expect(bad?.message).toMatch(/options\.channelAxis: expected 1 … 3 or −3 … −1 for spatialDims 2 \(inputs of rank 4, or 3 unbatched; axis 0 is the batch\)/);
    }
    for (const spatialDims of [0, 4, 1.5, '2', null]) {
      expect(errorCode(() => instanceNorm.create({ numFeatures: 3, spatialDims: spatialDims as never }))).toBe(spatialDims === null ? undefined : 'E_OPTION');
    }
    expect(errorCode(() => instanceNorm.create({ numFeatures: 3 }).forward({ x: randn([3, 4], 1), params: {}, state: {}, mode: 'train' }))).toBe('E_SHAPE');
  });
});

function errorOf(fn: () => unknown): { code: string; message: string } | null {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string };
  }
  return null;
}
