import { describe, expect, it } from 'vitest';
import { dtypeOf, fromArray, tensor, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../../test/errors.js';
import { bytesOf, centralDifference, dot, scaledMaxError } from '../../test/numeric.js';
import { weightNorm } from '../plugin.js';
import type { WeightNormLinearInputOptions } from './options.js';
import { weightNormLinear } from './plugin.js';
import type { WeightNormLinearParams } from './weight.js';
import { materializeLinearWeight } from './weight.js';

function forward(x: Tensor, params: WeightNormLinearParams, input: WeightNormLinearInputOptions) {
  return weightNormLinear.create(input).forward({ x, params, state: {}, mode: 'train' });
}

/** W = g·v/‖v‖ per row through the weight-norm plugin (dim 0, g as (out, 1)): an independent route. */
function weightViaPlugin(params: WeightNormLinearParams): Tensor {
  const v = params.v as Tensor;
  const g = params.g as Tensor;
  const [out] = v.shape;
  return weightNorm.create({ shape: v.shape, dim: 0 }).forward({ x: v, params: { g: tensor(toTypedArray(g), [out, 1]) }, state: {}, mode: 'train' }).y;
}

/** y = x·Wᵀ + b with plain loops over get(). */
function plainLinear(x2d: Tensor, w: Tensor, bias: Tensor | undefined): Float64Array {
  const [rows, inF] = x2d.shape;
  const [out] = w.shape;
  const y = new Float64Array(rows * out);
  for (let n = 0; n < rows; n++) {
    for (let o = 0; o < out; o++) {
      let acc = bias === undefined ? 0 : bias.get(o);
      for (let i = 0; i < inF; i++) acc += x2d.get(n, i) * w.get(o, i);
      y[n * out + o] = acc;
    }
  }
  return y;
}

describe('init', () => {
  it("seeded v ~ N(0, 0.05²), g = ‖v‖ (so W = v to 1e-15), bias 0; 'one' gives g = 1", () => {
    const fc = weightNormLinear.create({ inFeatures: 50, outFeatures: 40 });
    const a = fc.init('float64').params;
    const b = fc.init('float64').params;
    expect(bytesOf(a.v, a.g, a.bias)).toBe(bytesOf(b.v, b.g, b.bias));
    const v = toTypedArray(a.v as Tensor);
    const std = Math.sqrt(Array.from(v).reduce((sum, x) => sum + x * x, 0) / v.length);
    expect(Math.abs(std - 0.05)).toBeLessThan(0.005); // 2000 draws: the sample std is within 10%
    expect(scaledMaxError(toTypedArray(weightViaPlugin(a)), v)).toBeLessThan(1e-15);
    expect(Array.from(toTypedArray(a.bias as Tensor)).every((x) => x === 0)).toBe(true);
    const other = weightNormLinear.create({ inFeatures: 50, outFeatures: 40, seed: 1 }).init('float64').params;
    expect(bytesOf(other.v)).not.toBe(bytesOf(a.v));
    const ones = weightNormLinear.create({ inFeatures: 3, outFeatures: 2, gInit: 'one', bias: false }).init().params;
    expect(Array.from(toTypedArray(ones.g as Tensor))).toEqual([1, 1]);
    expect(ones.bias).toBeUndefined();
    expect(dtypeOf(ones.v as Tensor)).toBe('float32');
  });
});

describe('forward', () => {
  it('matches a plain matrix product with the materialized W, with leading axes (float64 to 1e-14, float32 to 1e-6)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const options = { inFeatures: 5, outFeatures: 3 };
      const params: WeightNormLinearParams = { v: randn([3, 5], 1, dtype), g: randn([3], 2, dtype), bias: randn([3], 3, dtype) };
      const x = randn([2, 4, 5], 4, dtype);
      const { y } = forward(x, params, options);
      expect(y.shape).toEqual([2, 4, 3]);
      expect(dtypeOf(y)).toBe(dtype);
      const w = weightViaPlugin(params);
      expect(scaledMaxError(toTypedArray(materializeLinearWeight(params, options)), toTypedArray(w))).toBeLessThan(dtype === 'float64' ? 1e-15 : 1e-6);
      const reference = plainLinear(tensor(toTypedArray(x), [8, 5]), w, params.bias);
      expect(scaledMaxError(toTypedArray(y), reference)).toBeLessThan(dtype === 'float64' ? 1e-14 : 1e-6);
    }
  });

  it('a rank-1 x gives a rank-1 y; a strided x equals its contiguous copy (to 1e-15)', () => {
    const params: WeightNormLinearParams = { v: randn([3, 4], 5), g: randn([3], 6) };
    const input = { inFeatures: 4, outFeatures: 3, bias: false };
    expect(forward(randn([4], 7), params, input).y.shape).toEqual([3]);
    const x = randn([4, 6], 8).transpose(1, 0); // (6, 4), strided
    expect(scaledMaxError(toTypedArray(forward(x, params, input).y), toTypedArray(forward(toContiguous(x), params, input).y))).toBeLessThan(1e-15);
  });

  it('writes y and dx into preallocated outputs (y-shaped and x-shaped), bit-identical to fresh ones', () => {
    const fc = weightNormLinear.create({ inFeatures: 4, outFeatures: 3 });
    const { params } = fc.init('float64');
    const x = randn([5, 4], 9);
    const dy = randn([5, 3], 10);
    const fresh = fc.forward({ x, params, state: {}, mode: 'train' });
    const yOut = zeros([5, 3], 'float64');
    const reused = fc.forward({ x, params, state: {}, mode: 'train', out: yOut });
    expect(reused.y).toBe(yOut);
    expect(bytesOf(yOut)).toBe(bytesOf(fresh.y));
    const dxOut = zeros([5, 4], 'float64');
    expect(fc.backward({ dy, params, saved: reused.saved, out: dxOut }).dx).toBe(dxOut);
    expect(bytesOf(dxOut)).toBe(bytesOf(fc.backward({ dy, params, saved: fresh.saved }).dx));
    expectCode(() => fc.forward({ x, params, state: {}, mode: 'train', out: zeros([5, 4], 'float64') }), 'E_SHAPE');
    expectCode(() => fc.forward({ x, params, state: {}, mode: 'train', out: zeros([5, 3], 'float32') }), 'E_DTYPE');
    expectCode(() => fc.backward({ dy, params, saved: fresh.saved, out: zeros([5, 3], 'float64') }), 'E_SHAPE');
  });
});

describe('backward', () => {
  // Central differences of L = Σ y·dy with h = 1e-6 in float64; tolerance 1e-7 of scale.
  for (const input of [...weightNormLinear.exampleOptions, { inFeatures: 4, outFeatures: 3, eps: 0.5 }]) {
    it(`central differences agree with dx, dv, dg, dbias for ${JSON.stringify(input)} (to 1e-7)`, () => {
      const fc = weightNormLinear.create(input);
      const { outFeatures, bias } = fc.options;
      for (const xShape of fc.exampleShapes()) {
        const { params: init } = fc.init('float64');
        const params: WeightNormLinearParams = {
          ...init,
          g: randn([outFeatures], 11, 'float64', 1, 0.5),
          ...(bias ? { bias: randn([outFeatures], 12) } : {}),
        };
        const x = randn(xShape, 13);
        const dy = randn([...xShape.slice(0, -1), outFeatures], 14);
        const loss = (xx: Tensor, pp: WeightNormLinearParams) => dot(forward(xx, pp, input).y, dy);
        const { saved } = forward(x, params, input);
        const { dx, grads } = fc.backward({ dy, params, saved });
        expect(dx.shape).toEqual(xShape);
        expect(scaledMaxError(toTypedArray(dx), centralDifference((t) => loss(t, params), x))).toBeLessThan(1e-7);
        for (const name of ['v', 'g', 'bias'] as const) {
          const p = params[name];
          if (p === undefined) {
            expect(grads[name]).toBeUndefined();
            continue;
          }
          const numeric = centralDifference((t) => loss(x, { ...params, [name]: t }), p);
          expect((grads[name] as Tensor).shape).toEqual(p.shape);
          expect(scaledMaxError(toTypedArray(grads[name] as Tensor), numeric)).toBeLessThan(1e-7);
        }
      }
    });
  }

  it('⟨dv, v⟩ = 0 per output unit (≤ 1e-14·|g|·‖dW‖ scale)', () => {
    const fc = weightNormLinear.create({ inFeatures: 6, outFeatures: 4 });
    const params = fc.init('float64').params;
    const x = randn([10, 6], 21);
    const { saved } = fc.forward({ x, params, state: {}, mode: 'train' });
    const { grads } = fc.backward({ dy: randn([10, 4], 22), params, saved });
    const dv = grads.v as Tensor;
    const v = params.v as Tensor;
    for (let o = 0; o < 4; o++) {
      let inner = 0;
      let dvNorm = 0;
      let vNorm = 0;
      for (let i = 0; i < 6; i++) {
        inner += dv.get(o, i) * v.get(o, i);
        dvNorm += dv.get(o, i) ** 2;
        vNorm += v.get(o, i) ** 2;
      }
      expect(Math.abs(inner)).toBeLessThanOrEqual(1e-14 * Math.sqrt(dvNorm * vNorm) + 1e-300);
    }
  });

  it('dtypes: dx and the gradients follow x, also for a float64 dy with float32 x (equal to the float32-rounded dy to 1e-6)', () => {
    const fc = weightNormLinear.create({ inFeatures: 4, outFeatures: 3 });
    const { params } = fc.init('float32');
    const x = randn([5, 4], 23, 'float32');
    const dy = randn([5, 3], 24);
    const { saved } = fc.forward({ x, params, state: {}, mode: 'train' });
    const wide = fc.backward({ dy, params, saved });
    const narrow = fc.backward({ dy: toContiguous(dy, 'float32'), params, saved });
    for (const [a, b] of [[wide.dx, narrow.dx], [wide.grads.v, narrow.grads.v], [wide.grads.g, narrow.grads.g], [wide.grads.bias, narrow.grads.bias]] as Tensor[][]) {
      expect(dtypeOf(a)).toBe('float32');
      expect(scaledMaxError(toTypedArray(a), toTypedArray(b))).toBeLessThan(1e-6);
    }
  });
});

describe('bad inputs: the code, and nothing changed', () => {
  it.each([
    ['g of shape (out, 1)', (p: WeightNormLinearParams) => ({ ...p, g: zeros([3, 1], 'float64') }), 'E_SHAPE'],
    ['v transposed', (p: WeightNormLinearParams) => ({ ...p, v: randn([4, 3], 2) }), 'E_SHAPE'],
    ['bias missing', (p: WeightNormLinearParams) => ({ v: p.v, g: p.g }), 'E_STATE'],
    ['g in float32 with float64 x', (p: WeightNormLinearParams) => ({ ...p, g: toContiguous(p.g as Tensor, 'float32') }), 'E_DTYPE'],
    ['a zero row of v without eps', (p: WeightNormLinearParams) => ({ ...p, v: fromArray([1, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1, 1], [3, 4], 'float64') }), 'E_DEGENERATE'],
  ] as [string, (p: WeightNormLinearParams) => WeightNormLinearParams, string][])('forward: %s → %s, params unchanged', (_, edit, code) => {
    const options = { inFeatures: 4, outFeatures: 3 };
    const params = edit(weightNormLinear.create(options).init('float64').params);
    const x = randn([5, 4], 3);
    const before = bytesOf(params.v, params.g, params.bias, x);
    expectCode(() => forward(x, params, options), code);
    expect(bytesOf(params.v, params.g, params.bias, x)).toBe(before);
  });

  it('backward: dy not shaped like y → E_SHAPE; a saved value of other options → E_STATE', () => {
    const fc = weightNormLinear.create({ inFeatures: 4, outFeatures: 3 });
    const { params } = fc.init('float64');
    const { saved } = fc.forward({ x: randn([5, 4], 1), params, state: {}, mode: 'train' });
    expectCode(() => fc.backward({ dy: randn([5, 4], 2), params, saved }), 'E_SHAPE');
    const wider = weightNormLinear.create({ inFeatures: 4, outFeatures: 2 });
    expectCode(() => wider.backward({ dy: randn([5, 2], 2), params: wider.init('float64').params, saved }), 'E_STATE');
    expectCode(() => fc.backward({ dy: randn([5, 3], 2), params, saved: { ...saved, direction: { ...saved.direction, inputScale: new Float64Array(2) } } }), 'E_STATE');
  });
});
