import { describe, expect, it } from 'vitest';
import { dtypeOf, tensor, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../test/errors.js';
import { bytesOf, perSlice, scaledMaxError } from '../test/numeric.js';
import { WeightNorm, weightNormFromWeight } from './layer.js';
import { gShapeOf } from './options.js';
import type { WeightNormInputOptions } from './options.js';
import { weightNorm } from './plugin.js';

function run(v: Tensor, g: Tensor, input: WeightNormInputOptions) {
  return weightNorm.create(input).forward({ x: v, params: { g }, state: {}, mode: 'train' });
}


describe('weightNormFromWeight', () => {
  it.each([0, 1, null])('dim %j: g = ‖w‖, and w = g·v/‖v‖ gives w back (to 1e-15)', (dim) => {
    const w = randn([4, 3, 3, 3], 101);
    const { v, g } = weightNormFromWeight(w, { dim });
    expect(v.data).not.toBe(w.data);
    expect(g.shape).toEqual(gShapeOf({ shape: w.shape, dim }));
    const { y } = run(v, g, { shape: w.shape, dim });
    expect(scaledMaxError(toTypedArray(y), toTypedArray(w))).toBeLessThan(1e-15);
  });

  it("gInit 'one' gives g = 1 (Flax): unit-norm slices (to 1e-15)", () => {
    const w = randn([5, 4], 111);
    const { v, g } = weightNormFromWeight(w, { gInit: 'one' });
    expect(Array.from(toTypedArray(g))).toEqual([1, 1, 1, 1, 1]);
    const { y } = run(v, g, { shape: [5, 4] });
    perSlice(y, y, 0, (a, b) => a * b).forEach((n) => expect(Math.abs(n - 1)).toBeLessThan(1e-15));
  });

  it('a dtype argument converts v and g', () => {
    const { v, g } = weightNormFromWeight(randn([3, 2], 112), {}, 'float32');
    expect(dtypeOf(v)).toBe('float32');
    expect(dtypeOf(g)).toBe('float32');
  });

  it('zero-norm slice → E_DEGENERATE; shape mismatch → E_SHAPE', () => {
    expectCode(() => weightNormFromWeight(tensor(new Float64Array(8), [2, 4])), 'E_DEGENERATE');
    expectCode(() => weightNormFromWeight(randn([2, 4], 1), { shape: [4, 2] }), 'E_SHAPE');
  });
});

describe('the WeightNorm layer', () => {
  it('starts from a weight, keeps its dtype, and accumulates dg', () => {
    const w = randn([5, 4], 121, 'float64');
    const layer = new WeightNorm({ dim: 0 }, { weight: w });
    expect(layer.dtype).toBe('float64');
    expect(layer.options.shape).toEqual([5, 4]);
    const { v } = weightNormFromWeight(w);
    const out = layer.forward(v);
    expect(scaledMaxError(toTypedArray(out), toTypedArray(w))).toBeLessThan(1e-15);
    const dw = randn([5, 4], 122);
    const dv1 = layer.backward(dw, { retainSaved: true });
    layer.backward(dw);
    const wn = weightNorm.create({ shape: [5, 4] });
    const g = layer.params.g as Tensor;
    const expected = wn.backward({ dy: dw, params: { g }, saved: wn.forward({ x: v, params: { g }, state: {}, mode: 'train' }).saved });
    expect(scaledMaxError(toTypedArray(dv1), toTypedArray(expected.dx))).toBe(0);
    const twice = toTypedArray(expected.grads.g as Tensor).map((x) => 2 * x);
    expect(scaledMaxError(toTypedArray(layer.grads.g as Tensor), twice)).toBeLessThan(1e-15);
    expect(Object.keys(layer.stateDict())).toEqual(['g']);
  });

  it('without a weight has g = 1 in float32', () => {
    const layer = new WeightNorm({ shape: [3, 2], dim: null });
    expect(layer.params.g?.shape).toEqual([]);
    expect(dtypeOf(layer.params.g as Tensor)).toBe('float32');
    expect(Array.from(toTypedArray(layer.params.g as Tensor))).toEqual([1]);
  });

  it('dim out of range throws E_OPTION at construction, as do null options; a bad forward leaves g and grads unchanged', () => {
    const shape = [5, 4];
    expectCode(() => new WeightNorm({ shape, dim: 2 }), 'E_OPTION');
    expectCode(() => new WeightNorm({ shape, dim: -3 }), 'E_OPTION');
    expectCode(() => new WeightNorm(null as never), 'E_OPTION');
    const layer = new WeightNorm({ shape }, { weight: randn(shape, 5) });
    const before = bytesOf(layer.params.g, layer.grads.g);
    const zero = zeros(shape, 'float64');
    expectCode(() => layer.forward(zero), 'E_DEGENERATE');
    expectCode(() => layer.forward(randn([5, 3], 6)), 'E_SHAPE');
    expectCode(() => layer.forward(randn(shape, 7, 'float32')), 'E_DTYPE'); // g is float64: no silent promotion
    expect(bytesOf(layer.params.g, layer.grads.g)).toBe(before);
    expect(bytesOf(zero)).toBe(bytesOf(zeros(shape, 'float64')));
  });

  it('a weight the layer does not fit → E_SHAPE', () => {
    expectCode(() => new WeightNorm({ shape: [4, 2] }, { weight: randn([2, 4], 1) }), 'E_SHAPE');
  });
});
