import { batchNorm } from '@normkit/batch-norm';
import { fromArray, full, toContiguous, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { ghostBatchNorm } from './plugin.js';

function maxDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  const x = toTypedArray(toContiguous(a as Tensor));
  const y = toTypedArray(toContiguous(b as Tensor));
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Samples [start, start + length) of a tensor, as a row-major copy. */
function samples(t: Tensor, start: number, length: number): Tensor {
  return toContiguous(t.hi(start + length).lo(start));
}

describe('ghost batch norm with virtualBatchSize ≥ N is batch norm, exactly', () => {
  const cases = [
    { options: { numFeatures: 3 }, shape: [6, 3, 4], sizes: [6, 7] },
    { options: { numFeatures: 2, affine: false }, shape: [5, 2], sizes: [5, 64] },
    { options: { numFeatures: 2, momentum: null }, shape: [3, 2, 2, 3], sizes: [3] },
    { options: { numFeatures: 4, channelAxis: -1 }, shape: [2, 3, 4], sizes: [2] },
    { options: { numFeatures: 2, trackRunningStats: false }, shape: [4, 2, 3], sizes: [4] },
  ] as const;
  for (const dtype of ['float64', 'float32'] as const) {
    for (const { options, shape, sizes } of cases) {
      for (const virtualBatchSize of sizes) {
        it(`${JSON.stringify(options)}, V = ${virtualBatchSize} on [${shape.join(', ')}] in ${dtype}: y, dx, dγ, dβ and the running statistics agree bit for bit`, () => {
          const ghost = ghostBatchNorm.create({ ...options, virtualBatchSize });
          const bn = batchNorm.create(options);
          const init = bn.init(dtype);
          const params = 'weight' in init.params ? { weight: randn([options.numFeatures], 7, dtype, 1, 0.5), bias: randn([options.numFeatures], 8, dtype) } : {};
          const x = randn([...shape], 1, dtype, 0.5, 2);
          const dy = randn([...shape], 2, dtype);
          for (const mode of ['train', 'eval'] as const) {
            const a = ghost.forward({ x, params, state: init.state, mode });
            const b = bn.forward({ x, params, state: init.state, mode });
            expect(maxDiff(a.y, b.y)).toBe(0);
            for (const name of Object.keys(init.state) as ('runningMean' | 'runningVar' | 'numBatchesTracked')[]) {
              expect(maxDiff(a.state[name], b.state[name])).toBe(0);
            }
            const ga = ghost.backward({ dy, params, saved: a.saved });
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
  }
});

describe('ghost batch norm (Hoffer et al. 2017)', () => {
  // float64, each virtual batch against batch norm on a copy of its samples: 1e-14 absolute
  // (the same kernels, on a view instead of a copy; values of order 1).
  const layouts = [
    { name: 'V divides N (4 virtual batches of 3)', shape: [12, 2, 3], size: 3, channelAxis: 1 },
    { name: 'an uneven remainder (3, 3, 2)', shape: [8, 2], size: 3, channelAxis: 1 },
    { name: 'a remainder of one sample with 4 positions (2, 2, 1)', shape: [5, 3, 4], size: 2, channelAxis: 1 },
    { name: 'channels-last (N, H, W, C), remainder (4, 2)', shape: [6, 2, 2, 3], size: 4, channelAxis: -1 },
  ];
  for (const { name, shape, size, channelAxis } of layouts) {
    it(`each virtual batch is batch-normalized by its own statistics, forward and backward: ${name}`, () => {
      const channels = shape[channelAxis < 0 ? shape.length + channelAxis : channelAxis];
      const ghost = ghostBatchNorm.create({ numFeatures: channels, virtualBatchSize: size, channelAxis });
      const bn = batchNorm.create({ numFeatures: channels, channelAxis, trackRunningStats: false });
      const params = { weight: randn([channels], 3, 'float64', 1, 0.5), bias: randn([channels], 4) };
      const x = randn(shape, 5, 'float64', 1, 2);
      const dy = randn(shape, 6);
      const { y, saved } = ghost.forward({ x, params, state: ghost.init('float64').state, mode: 'train' });
      const { dx, grads } = ghost.backward({ dy, params, saved });
      const sumWeight = new Float64Array(channels);
      const sumBias = new Float64Array(channels);
      for (let start = 0; start < shape[0]; start += size) {
        const length = Math.min(size, shape[0] - start);
        const part = bn.forward({ x: samples(x, start, length), params, state: {}, mode: 'train' });
        expect(maxDiff(samples(y, start, length), part.y)).toBeLessThan(1e-14);
        const back = bn.backward({ dy: samples(dy, start, length), params, saved: part.saved });
        expect(maxDiff(samples(dx, start, length), back.dx)).toBeLessThan(1e-14);
        for (let c = 0; c < channels; c++) {
          sumWeight[c] += back.grads.weight!.get(c);
          sumBias[c] += back.grads.bias!.get(c);
        }
      }
      expect(maxDiff(grads.weight, fromArray(sumWeight, 'float64'))).toBeLessThan(1e-13);
      expect(maxDiff(grads.bias, fromArray(sumBias, 'float64'))).toBeLessThan(1e-13);
    });
  }

  it('updates the running statistics once per step, with the whole batch’s mean and unbiased variance (the exact merge of the virtual batches)', () => {
    const ghost = ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 3, affine: false, momentum: 0.25 });
    const bn = batchNorm.create({ numFeatures: 2, affine: false, momentum: 0.25 });
    const x = randn([8, 2, 5], 7, 'float64', 3, 2);
    const state = { runningMean: fromArray([1, -1], 'float64'), runningVar: fromArray([2, 0.5], 'float64'), numBatchesTracked: full([], 'float64', 4) };
    const a = ghost.forward({ x, params: {}, state, mode: 'train' }).state;
    const b = bn.forward({ x, params: {}, state, mode: 'train' }).state;
    // rtol 1e-14: the merge of three parts against the two-pass moments of the whole
    for (const name of ['runningMean', 'runningVar'] as const) {
      for (let c = 0; c < 2; c++) expect(Math.abs(a[name]!.get(c) - b[name]!.get(c))).toBeLessThan(1e-14 * Math.abs(b[name]!.get(c)));
    }
    expect(a.numBatchesTracked!.get()).toBe(5);
  });

  it('eval never splits: any batch size, batch norm’s eval with the running statistics (tensorflow#23050)', () => {
    const ghost = ghostBatchNorm.create({ numFeatures: 3, virtualBatchSize: 4 });
    const bn = batchNorm.create({ numFeatures: 3 });
    const params = { weight: randn([3], 1, 'float64', 1), bias: randn([3], 2) };
    const state = { runningMean: randn([3], 3), runningVar: fromArray([1, 2, 3], 'float64'), numBatchesTracked: full([], 'float64', 10) };
    for (const n of [1, 3, 5]) {
      const x = randn([n, 3], 4 + n);
      const a = ghost.forward({ x, params, state, mode: 'eval' });
      expect(a.state).toBe(state);
      expect(maxDiff(a.y, bn.forward({ x, params, state, mode: 'eval' }).y)).toBe(0);
    }
  });

  it('refuses a virtual batch with one value per channel (E_DEGENERATE, naming the remainder), without changing the state', () => {
    const ghost = ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 3 });
    const { params, state } = ghost.init('float64');
    const error = (() => {
      try {
        ghost.forward({ x: randn([7, 2], 1), params, state, mode: 'train' });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(errorCode(() => { if (error) throw error; })).toBe('E_DEGENERATE');
    expect(error?.message).toContain('remainder of 7 mod 3');
    expect(Array.from(toTypedArray(state.runningMean!))).toEqual([0, 0]);
    expect(errorCode(() => ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 1 }).forward({ x: randn([4, 2], 1), params, state, mode: 'train' }))).toBe('E_DEGENERATE');
    // with positions, one sample per virtual batch is fine (instance-norm-like statistics)
    expect(errorCode(() => ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 1 }).forward({ x: randn([3, 2, 2], 1), params, state, mode: 'train' }))).toBeUndefined();
  });

  it('refuses bad options and a channel axis on the batch axis', () => {
    expect(errorCode(() => ghostBatchNorm.create({ numFeatures: 2 } as never))).toBe('E_OPTION');
    expect(errorCode(() => ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 0 }))).toBe('E_OPTION');
    expect(errorCode(() => ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 2.5 }))).toBe('E_OPTION');
    expect(errorCode(() => ghostBatchNorm.create({ numFeatures: 2, virtualBatchSize: 2, channelAxis: 0 }))).toBe('E_OPTION');
    const ghost = ghostBatchNorm.create({ numFeatures: 4, virtualBatchSize: 2, channelAxis: -2, affine: false, trackRunningStats: false });
    expect(errorCode(() => ghost.forward({ x: randn([4, 4], 1), params: {}, state: {}, mode: 'train' }))).toBe('E_SHAPE');
  });

  it('reads strided views (a transposed input) as their contiguous copies (1e-14: the strided and contiguous kernels sum in another order)', () => {
    const ghost = ghostBatchNorm.create({ numFeatures: 3, virtualBatchSize: 2 });
    const { params, state } = ghost.init('float64');
    const base = randn([3, 5, 4], 9); // (C, N, L) in memory, read as (N, C, L)
    const x = base.transpose(1, 0, 2);
    const a = ghost.forward({ x, params, state, mode: 'train' });
    const b = ghost.forward({ x: toContiguous(x), params, state, mode: 'train' });
    expect(maxDiff(a.y, b.y)).toBeLessThan(1e-14);
    const dy = randn([5, 3, 4], 10);
    expect(maxDiff(ghost.backward({ dy, params, saved: a.saved }).dx, ghost.backward({ dy, params, saved: b.saved }).dx)).toBeLessThan(1e-14);
  });
});
