import { fromArray, toContiguous, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { batchNorm } from './plugin.js';

function run(x: Tensor, dy: Tensor, channelAxis: number, channels: number, mode: 'train' | 'eval' = 'train') {
  const bn = batchNorm.create({ numFeatures: channels, channelAxis });
  const init = bn.init('float64');
  const params = { weight: randn([channels], 5, 'float64', 1, 0.3), bias: randn([channels], 6) };
  const state = { ...init.state, runningMean: randn([channels], 7), runningVar: fromArray(Array.from({ length: channels }, (_, c) => 0.5 + c), 'float64') };
  const f = bn.forward({ x, params, state, mode });
  const b = bn.backward({ dy, params, saved: f.saved });
  return { y: toTypedArray(f.y), dx: toTypedArray(b.dx), dw: toTypedArray(b.grads.weight!), db: toTypedArray(b.grads.bias!), state: f.state };
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('layouts', () => {
  for (const mode of ['train', 'eval'] as const) {
    it(`channels-last through channelAxis -1 equals channels-first on transposed data (${mode})`, () => {
      const nhwc = randn([3, 4, 5, 6], 1);
      const dyNhwc = randn([3, 4, 5, 6], 2);
      const last = run(nhwc, dyNhwc, -1, 6, mode);
      // the same data as NCHW: a transposed view (no copy) and a contiguous copy
      const nchwView = nhwc.transpose(0, 3, 1, 2);
      const first = run(toContiguous(nchwView), toContiguous(dyNhwc.transpose(0, 3, 1, 2)), 1, 6, mode);
      // compare in NCHW order
      const lastAsNchw = toTypedArray(fromArray(last.y, [3, 4, 5, 6], 'float64').transpose(0, 3, 1, 2));
      const dxAsNchw = toTypedArray(fromArray(last.dx, [3, 4, 5, 6], 'float64').transpose(0, 3, 1, 2));
      expectClose(lastAsNchw, first.y, 1e-13);
      expectClose(dxAsNchw, first.dx, 1e-13);
      expectClose(last.dw, first.dw, 1e-12);
      expectClose(last.db, first.db, 1e-12);
    });
  }

  it('strided views (transposed, sliced, stepped, reversed) equal their contiguous copies bit for bit or to 1e-13', () => {
    const base = randn([6, 5, 4, 3], 3);
    const dyBase = randn([6, 5, 4, 3], 4);
    const views: [string, (t: Tensor) => Tensor, number][] = [
      ['transposed (C on axis 1)', (t) => t.transpose(0, 2, 1, 3), 4],
      ['sliced', (t) => t.hi(5, 4, 3, 3).lo(1, 0, 1, 0), 4],
      ['stepped', (t) => t.step(2, 1, 1, 1), 5],
      ['reversed', (t) => t.step(-1, 1, -1, 1), 5],
      ['picked axis order', (t) => t.transpose(3, 1, 0, 2), 5],
    ];
    for (const [, view, channels] of views) {
      const x = view(base);
      const dy = view(dyBase);
      for (const mode of ['train', 'eval'] as const) {
        const strided = run(x, dy, 1, channels, mode);
        const copy = run(toContiguous(x), toContiguous(dy), 1, channels, mode);
        expectClose(strided.y, copy.y, 1e-13);
        expectClose(strided.dx, copy.dx, 1e-13);
        expectClose(strided.dw, copy.dw, 1e-12);
        expectClose(strided.db, copy.db, 1e-12);
      }
    }
  });

  it('works on rank 5 (N, C, D, H, W): per-channel output mean 0 and biased variance var/(var+eps)', () => {
    const x = randn([2, 3, 4, 3, 5], 9, 'float64', 3, 2);
    const bn = batchNorm.create({ numFeatures: 3, affine: false });
    const { state } = bn.init('float64');
    const { y, saved } = bn.forward({ x, params: {}, state, mode: 'train' });
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let sq = 0;
      let n = 0;
      const view = y.pick(null, c, null, null, null);
      for (let a = 0; a < 2; a++) for (let d = 0; d < 4; d++) for (let h = 0; h < 3; h++) for (let w = 0; w < 5; w++) {
        const v = view.get(a, d, h, w);
        sum += v;
        sq += v * v;
        n++;
      }
      const variance = 1 / (saved.invStd[c] * saved.invStd[c]) - 1e-5;
      expect(Math.abs(sum / n)).toBeLessThan(1e-14);
      expect(Math.abs(sq / n - variance / (variance + 1e-5))).toBeLessThan(1e-13);
    }
  });

  it('handles the (N, C) layout with float32 in and float32 out, summing in float64', () => {
    // 2^20 rows of 0.1f: a float32 accumulator would drift by percent; float64 does not.
    const rows = 1 << 20;
    const data = new Float32Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      data[2 * i] = 0.1;
      data[2 * i + 1] = i % 2 === 0 ? 1 : -1;
    }
    const x = fromArray(data, [rows, 2], 'float32');
    const bn = batchNorm.create({ numFeatures: 2 });
    const { params, state } = bn.init('float32');
    const { y, state: next, saved } = bn.forward({ x, params, state, mode: 'train' });
    expect(y.data).toBeInstanceOf(Float32Array);
    expect(saved.center).toBeInstanceOf(Float64Array);
    expect(saved.center[0]).toBeCloseTo(Math.fround(0.1), 12);
    expect(saved.center[1]).toBe(0);
    expect(next.runningMean!.get(0)).toBeCloseTo(Math.fround(Math.fround(0.1) * 0.1), 7);
    expect(y.get(0, 1)).toBeCloseTo(1 / Math.sqrt(1 + 1e-5), 6);
  });

  it('float32 results are the float64 results rounded once (same float32-exact inputs; bitwise)', () => {
    // The kernels compute in float64 whatever the storage dtype, so with the same values the
    // only difference is the final rounding of each stored output to float32.
    for (const [shape, channelAxis] of [
      [[6, 4], 1],
      [[3, 4, 5], 1],
      [[2, 5, 3, 4], -1],
    ] as const) {
      const channels = shape[channelAxis < 0 ? shape.length + channelAxis : channelAxis];
      const bn = batchNorm.create({ numFeatures: channels, channelAxis });
      const results = (['float64', 'float32'] as const).map((dtype) => {
        const params = { weight: randn([channels], 5, dtype, 1, 0.3), bias: randn([channels], 6, dtype) };
        const f = bn.forward({ x: randn(shape, 1, dtype, 2, 3), params, state: bn.init(dtype).state, mode: 'train' });
        const b = bn.backward({ dy: randn(shape, 2, dtype), params, saved: f.saved });
        return [f.y, b.dx, b.grads.weight!, b.grads.bias!, f.state.runningMean!, f.state.runningVar!].map((t) => Array.from(toTypedArray(t)));
      });
      const [r64, r32] = results;
      for (let k = 0; k < r64.length; k++) expect(r32[k]).toEqual(r64[k].map((v) => Math.fround(v)));
    }
  });
});

// The contiguous fast paths (blocked planes and columns, four rows at a time with a tail)
// against the general strided walk on the same values: a reversed view of reversed data has
// the same values but negative strides. These shapes are long enough to cross any blocking
// and leave every row remainder mod 4 (they once crossed the tiles of the per-plugin kernels).
describe('fast paths and the strided walk agree on large channels-last and channels-first inputs', () => {
  const shapes: [number[], number][] = [
    [[5000, 7], -1],
    [[4099, 5], -1],
    [[3, 6000], -1],
    [[2, 9, 700, 3], -1],
    [[11, 4], -1],
    [[3, 5, 4001], 1],
  ];
  for (const [shape, channelAxis] of shapes) {
    it(`${JSON.stringify(shape)}, channelAxis ${channelAxis}: to 1e-13`, () => {
      const axis = channelAxis < 0 ? shape.length + channelAxis : channelAxis;
      const channels = shape[axis];
      const bn = batchNorm.create({ numFeatures: channels, channelAxis });
      const init = bn.init('float64');
      const params = { weight: randn([channels], 3, 'float64', 1, 0.5), bias: randn([channels], 4) };
      const x = randn(shape, 1, 'float64', 2, 3);
      const dy = randn(shape, 2);
      const reversedAxes = shape.map(() => -1);
      const flip = (t: Tensor) => toContiguous(t.step(...reversedAxes)).step(...reversedAxes);
      for (const mode of ['train', 'eval'] as const) {
        const fast = bn.forward({ x, params, state: init.state, mode });
        const slow = bn.forward({ x: flip(x), params, state: init.state, mode });
        const fastBack = bn.backward({ dy, params, saved: fast.saved });
        const slowBack = bn.backward({ dy: flip(dy), params, saved: slow.saved });
        expectClose(toTypedArray(fast.y), toTypedArray(slow.y), 1e-13);
        expectClose(toTypedArray(fastBack.dx), toTypedArray(slowBack.dx), 1e-13);
        expectClose(toTypedArray(fastBack.grads.weight!), toTypedArray(slowBack.grads.weight!), 1e-13);
        expectClose(toTypedArray(fastBack.grads.bias!), toTypedArray(slowBack.grads.bias!), 1e-13);
        if (mode === 'train') {
          expectClose(toTypedArray(fast.state.runningMean!), toTypedArray(slow.state.runningMean!), 1e-13);
          expectClose(toTypedArray(fast.state.runningVar!), toTypedArray(slow.state.runningVar!), 1e-13);
        }
      }
    });
  }
});
