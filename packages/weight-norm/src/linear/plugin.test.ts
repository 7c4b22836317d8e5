import { describe, expect, it } from 'vitest';
import { NormkitError, dtypeOf, fromArray, tensor, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { bytesOf, centralDifference, dot, scaledMaxError } from '../test/numeric.js';
import { weightNorm } from './plugin.js';
import type { WeightNormLinearInputOptions, WeightNormLinearParams } from './weight-norm-linear.js';
import { WeightNormLinear, initFromBatch, materializeLinearWeight, resolveWeightNormLinearOptions, weightNormLinear } from './weight-norm-linear.js';

function forward(x: Tensor, params: WeightNormLinearParams, input: WeightNormLinearInputOptions) {
  return weightNormLinear.forward({ x, params, state: {}, mode: 'train' }, weightNormLinear.resolveOptions(input));
}

/** W = g·v/‖v‖ per row through the weight-norm plugin (dim 0, g as (out, 1)): an independent route. */
function weightViaPlugin(params: WeightNormLinearParams): Tensor {
  const v = params.v as Tensor;
  const g = params.g as Tensor;
  const [out] = v.shape;
  const options = weightNorm.resolveOptions({ shape: v.shape, dim: 0 });
  return weightNorm.forward({ x: v, params: { g: tensor(toTypedArray(g), [out, 1]) }, state: {}, mode: 'train' }, options).y;
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

function meanAndVariance(y: Tensor, unit: number): [number, number] {
  const values = toTypedArray(y);
  const out = y.shape[y.shape.length - 1];
  const rows = values.length / out;
  let mean = 0;
  for (let n = 0; n < rows; n++) mean += values[n * out + unit];
  mean /= rows;
  let variance = 0;
  for (let n = 0; n < rows; n++) variance += (values[n * out + unit] - mean) ** 2;
  return [mean, variance / rows];
}

describe('options and init', () => {
  it('defaults', () => {
    expect(resolveWeightNormLinearOptions({ inFeatures: 3, outFeatures: 2 })).toEqual({
      inFeatures: 3,
      outFeatures: 2,
      bias: true,
      eps: null,
      gInit: 'norm',
      seed: 0,
      initStd: 0.05,
    });
  });

  it.each([
    ['missing inFeatures', { outFeatures: 2 }],
    ['zero outFeatures', { inFeatures: 3, outFeatures: 0 }],
    ['fractional inFeatures', { inFeatures: 2.5, outFeatures: 2 }],
    ['bias not boolean', { inFeatures: 3, outFeatures: 2, bias: 1 }],
    ['negative seed', { inFeatures: 3, outFeatures: 2, seed: -1 }],
    ['initStd 0', { inFeatures: 3, outFeatures: 2, initStd: 0 }],
    ['unknown key', { inFeatures: 3, outFeatures: 2, in_features: 3 }],
  ])('%s → E_OPTION', (_, input) => {
    expect(() => weightNormLinear.resolveOptions(input as unknown as WeightNormLinearInputOptions)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });

  it("init: seeded v ~ N(0, 0.05²), g = ‖v‖ (so W = v to 1e-15), bias 0; 'one' gives g = 1", () => {
    const options = weightNormLinear.resolveOptions({ inFeatures: 50, outFeatures: 40 });
    const a = weightNormLinear.init(options, 'float64').params;
    const b = weightNormLinear.init(options, 'float64').params;
    expect(bytesOf(a.v, a.g, a.bias)).toBe(bytesOf(b.v, b.g, b.bias));
    const v = toTypedArray(a.v as Tensor);
    const std = Math.sqrt(Array.from(v).reduce((sum, x) => sum + x * x, 0) / v.length);
    expect(Math.abs(std - 0.05)).toBeLessThan(0.005); // 2000 draws: the sample std is within 10%
    expect(scaledMaxError(toTypedArray(weightViaPlugin(a)), v)).toBeLessThan(1e-15);
    expect(Array.from(toTypedArray(a.bias as Tensor)).every((x) => x === 0)).toBe(true);
    const other = weightNormLinear.init(weightNormLinear.resolveOptions({ inFeatures: 50, outFeatures: 40, seed: 1 }), 'float64').params;
    expect(bytesOf(other.v)).not.toBe(bytesOf(a.v));
    const ones = weightNormLinear.init(weightNormLinear.resolveOptions({ inFeatures: 3, outFeatures: 2, gInit: 'one', bias: false })).params;
    expect(Array.from(toTypedArray(ones.g as Tensor))).toEqual([1, 1]);
    expect(ones.bias).toBeUndefined();
    expect(dtypeOf(ones.v as Tensor)).toBe('float32');
  });
});

describe('forward', () => {
  it('matches a plain matrix product with the materialized W, with leading axes (float64 to 1e-14, float32 to 1e-6)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const input = { inFeatures: 5, outFeatures: 3 };
      const options = weightNormLinear.resolveOptions(input);
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
});

describe('backward', () => {
  // Central differences of L = Σ y·dy with h = 1e-6 in float64; tolerance 1e-7 of scale.
  for (const input of [...weightNormLinear.exampleOptions, { inFeatures: 4, outFeatures: 3, eps: 0.5 }]) {
    it(`central differences agree with dx, dv, dg, dbias for ${JSON.stringify(input)} (to 1e-7)`, () => {
      const options = weightNormLinear.resolveOptions(input);
      for (const xShape of weightNormLinear.exampleShapes(options)) {
        const { params: init } = weightNormLinear.init(options, 'float64');
        const params: WeightNormLinearParams = {
          ...init,
          g: randn([options.outFeatures], 11, 'float64', 1, 0.5),
          ...(options.bias ? { bias: randn([options.outFeatures], 12) } : {}),
        };
        const x = randn(xShape, 13);
        const dy = randn([...xShape.slice(0, -1), options.outFeatures], 14);
        const loss = (xx: Tensor, pp: WeightNormLinearParams) => dot(forward(xx, pp, options).y, dy);
        const { saved } = forward(x, params, options);
        const { dx, grads } = weightNormLinear.backward({ dy, params, saved }, options);
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
    const options = weightNormLinear.resolveOptions({ inFeatures: 6, outFeatures: 4 });
    const params = weightNormLinear.init(options, 'float64').params;
    const x = randn([10, 6], 21);
    const { saved } = forward(x, params, options);
    const { grads } = weightNormLinear.backward({ dy: randn([10, 4], 22), params, saved }, options);
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
});

describe('data-dependent initialization', () => {
  it('after initFromBatch the outputs on that batch have per-unit mean 0 and variance 1 (to 1e-10, float64)', () => {
    const layer = new WeightNormLinear({ inFeatures: 8, outFeatures: 5, seed: 3 }, { dtype: 'float64' });
    const x = randn([64, 8], 31, 'float64', 2, 3);
    const vBefore = layer.params.v;
    layer.initFromBatch(x);
    expect(layer.params.v).toBe(vBefore);
    const y = layer.forward(x);
    for (let o = 0; o < 5; o++) {
      const [mean, variance] = meanAndVariance(y, o);
      expect(Math.abs(mean)).toBeLessThan(1e-10);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-10);
    }
  });

  it('works with leading axes, eps and gInit one; float32 to 1e-5', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const options = { inFeatures: 4, outFeatures: 3, eps: 1e-3, gInit: 'one' as const };
      const { params } = weightNormLinear.init(weightNormLinear.resolveOptions(options), dtype);
      const x = randn([4, 5, 4], 41, dtype, -1, 0.5);
      const next = initFromBatch(params, x, options);
      expect(dtypeOf(next.g as Tensor)).toBe(dtype);
      const { y } = forward(x, next, options);
      const tol = dtype === 'float64' ? 1e-10 : 1e-5;
      for (let o = 0; o < 3; o++) {
        const [mean, variance] = meanAndVariance(y, o);
        expect(Math.abs(mean)).toBeLessThan(tol);
        expect(Math.abs(variance - 1)).toBeLessThan(tol);
      }
    }
  });

  it('without a bias only g is set: variance 1 (to 1e-10)', () => {
    const options = { inFeatures: 3, outFeatures: 2, bias: false };
    const { params } = weightNormLinear.init(weightNormLinear.resolveOptions(options), 'float64');
    const x = randn([20, 3], 51, 'float64', 1, 1);
    const next = initFromBatch(params, x, options);
    expect(next.bias).toBeUndefined();
    const { y } = forward(x, next, options);
    for (let o = 0; o < 2; o++) expect(Math.abs(meanAndVariance(y, o)[1] - 1)).toBeLessThan(1e-10);
  });
});

describe('bad inputs: the code, and nothing changed', () => {
  function expectCode(fn: () => unknown, code: string): void {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NormkitError);
    expect((caught as NormkitError).code).toBe(code);
  }

  it('x whose last axis ≠ inFeatures → E_SHAPE in forward and initFromBatch; the layer is unchanged', () => {
    const layer = new WeightNormLinear({ inFeatures: 4, outFeatures: 3 }, { dtype: 'float64' });
    const before = bytesOf(layer.params.v, layer.params.g, layer.params.bias, layer.grads.v, layer.grads.g, layer.grads.bias);
    const x = randn([5, 3], 1);
    const xBefore = bytesOf(x);
    expectCode(() => layer.forward(x), 'E_SHAPE');
    expectCode(() => layer.initFromBatch(x), 'E_SHAPE');
    expect(bytesOf(layer.params.v, layer.params.g, layer.params.bias, layer.grads.v, layer.grads.g, layer.grads.bias)).toBe(before);
    expect(bytesOf(x)).toBe(xBefore);
  });

  it.each([
    ['g of shape (out, 1)', (p: WeightNormLinearParams) => ({ ...p, g: zeros([3, 1]) }), 'E_SHAPE'],
    ['v transposed', (p: WeightNormLinearParams) => ({ ...p, v: randn([4, 3], 2) }), 'E_SHAPE'],
    ['bias missing', (p: WeightNormLinearParams) => ({ v: p.v, g: p.g }), 'E_STATE'],
    ['a zero row of v without eps', (p: WeightNormLinearParams) => ({ ...p, v: fromArray([1, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1, 1], [3, 4]) }), 'E_DEGENERATE'],
  ] as [string, (p: WeightNormLinearParams) => WeightNormLinearParams, string][])('%s → %s, params unchanged', (_, edit, code) => {
    const options = weightNormLinear.resolveOptions({ inFeatures: 4, outFeatures: 3 });
    const params = edit(weightNormLinear.init(options, 'float64').params);
    const x = randn([5, 4], 3);
    const before = bytesOf(params.v, params.g, params.bias, x);
    expectCode(() => forward(x, params, options), code);
    expectCode(() => initFromBatch(params, x, options), code);
    expect(bytesOf(params.v, params.g, params.bias, x)).toBe(before);
  });

  it('initFromBatch: one row, or a unit constant over the batch → E_DEGENERATE, layer unchanged', () => {
    const layer = new WeightNormLinear({ inFeatures: 2, outFeatures: 2 }, { dtype: 'float64' });
    const before = bytesOf(layer.params.v, layer.params.g, layer.params.bias);
    expectCode(() => layer.initFromBatch(randn([1, 2], 1)), 'E_DEGENERATE');
    expectCode(() => layer.initFromBatch(fromArray([1, 2, 1, 2, 1, 2], [3, 2])), 'E_DEGENERATE');
    expect(bytesOf(layer.params.v, layer.params.g, layer.params.bias)).toBe(before);
  });

  it('backward: dy not shaped like y → E_SHAPE', () => {
    const options = weightNormLinear.resolveOptions({ inFeatures: 4, outFeatures: 3 });
    const { params } = weightNormLinear.init(options, 'float64');
    const { saved } = forward(randn([5, 4], 1), params, options);
    expectCode(() => weightNormLinear.backward({ dy: randn([5, 4], 2), params, saved }, options), 'E_SHAPE');
  });
});
