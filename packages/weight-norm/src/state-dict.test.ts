import { describe, expect, it } from 'vitest';
import { NormkitError, dtypeOf, toTypedArray } from '@normkit/core';
import type { Tensor, TensorJSON } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { scaledMaxError } from '../test/numeric.js';
import { WeightNorm, weightNormFromWeight } from './plugin.js';
import { fromPyTorchStateDict, linearFromPyTorchStateDict, linearToPyTorchStateDict, pytorchKeys, toPyTorchStateDict } from './pytorch.js';
import type { PyTorchStyle } from './pytorch.js';
import { WeightNormLinear } from './weight-norm-linear.js';

/** A JSON entry with float32-exact values (what PyTorch's float32 `.tolist()` gives). */
function entry(shape: number[], seed: number): TensorJSON {
  return { shape, data: Array.from(toTypedArray(randn(shape, seed, 'float32'))) };
}

/** Through JSON text, as a file written by Python and read by Node would be. */
function viaText<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

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

describe('names', () => {
  it('legacy and parametrizations names, with and without a prefix', () => {
    expect(pytorchKeys('legacy')).toEqual({ g: 'weight_g', v: 'weight_v', bias: 'bias' });
    expect(pytorchKeys('parametrizations', { prefix: 'encoder.fc1' })).toEqual({
      g: 'encoder.fc1.parametrizations.weight.original0',
      v: 'encoder.fc1.parametrizations.weight.original1',
      bias: 'encoder.fc1.bias',
    });
    expect(pytorchKeys('legacy', { prefix: 'conv.', name: 'kernel' }).g).toBe('conv.kernel_g');
  });
});

describe('weight-norm state dicts round-trip (same names, order, shapes and values)', () => {
  const cases: [PyTorchStyle, string, number | null, number[], number[]][] = [
    ['legacy', '', 0, [40, 20], [40, 1]],
    ['parametrizations', '', 0, [40, 20], [40, 1]],
    ['legacy', 'deconv', 1, [3, 4, 2, 2], [1, 4, 1, 1]],
    ['parametrizations', 'blocks.0.conv', 0, [4, 3, 3, 3], [4, 1, 1, 1]],
    ['legacy', '', null, [5, 4], []],
    ['parametrizations', 'head.', null, [5, 4], []],
  ];
  it.each(cases)('%s, prefix %j, dim %j', (style, prefix, dim, vShape, gShape) => {
    const keys = pytorchKeys(style, { prefix });
    const dict = viaText({ [keys.g]: entry(gShape, 1), [keys.v]: entry(vShape, 2) });
    for (const dtype of ['float32', 'float64'] as const) {
      const loaded = fromPyTorchStateDict(dict, { dim, prefix, dtype });
      expect(loaded.style).toBe(style);
      expect(dtypeOf(loaded.params.v)).toBe(dtype);
      expect(loaded.params.g.shape).toEqual(gShape);
      const saved = viaText(toPyTorchStateDict(loaded.params, { dim, prefix, style: loaded.style }));
      expect(Object.keys(saved)).toEqual(Object.keys(dict));
      expect(saved).toEqual(dict); // exact: shapes and values
    }
  });

  it('loads into a WeightNorm layer: w = g·v/‖v‖ from the loaded v and g', () => {
    const w = randn([6, 5], 3, 'float32');
    const { v, g } = weightNormFromWeight(w, { gInit: 'one' });
    const dict = viaText(toPyTorchStateDict({ v, g }, { style: 'legacy' }));
    expect(Object.keys(dict)).toEqual(['weight_g', 'weight_v']);
    const loaded = fromPyTorchStateDict(dict, { shape: [6, 5] });
    const layer = new WeightNorm({ shape: [6, 5] });
    layer.loadStateDict({ g: loaded.params.g });
    const out = layer.forward(loaded.params.v);
    const expected = toTypedArray(w).map((x, i) => x / Math.hypot(...Array.from(toTypedArray(w)).slice(i - (i % 5), i - (i % 5) + 5)));
    expect(scaledMaxError(toTypedArray(out), expected)).toBeLessThan(1e-6); // float32
  });

  it('the default style when saving is parametrizations', () => {
    const { v, g } = weightNormFromWeight(randn([2, 3], 4));
    expect(Object.keys(toPyTorchStateDict({ v, g }))).toEqual(['parametrizations.weight.original0', 'parametrizations.weight.original1']);
  });
});

describe('WeightNormLinear state dicts (nn.Linear under weight_norm, g as (out, 1))', () => {
  it.each(['legacy', 'parametrizations'] as const)('%s: round trip and load into the layer', (style) => {
    const keys = pytorchKeys(style, { prefix: 'fc' });
    const dict = viaText({ [keys.bias]: entry([3], 5), [keys.g]: entry([3, 1], 6), [keys.v]: entry([3, 4], 7) });
    const loaded = linearFromPyTorchStateDict(dict, { inFeatures: 4, outFeatures: 3, prefix: 'fc' });
    expect(loaded.style).toBe(style);
    expect(loaded.params.g?.shape).toEqual([3]);
    const layer = new WeightNormLinear({ inFeatures: 4, outFeatures: 3 });
    layer.loadStateDict(loaded.params);
    const saved = viaText(linearToPyTorchStateDict(layer.stateDict(), { style, prefix: 'fc' }));
    expect(Object.keys(saved)).toEqual(Object.keys(dict));
    expect(saved).toEqual(dict);
  });

  it('without a bias', () => {
    const dict = viaText({ weight_g: entry([2, 1], 8), weight_v: entry([2, 3], 9) });
    const loaded = linearFromPyTorchStateDict(dict, { inFeatures: 3, outFeatures: 2, bias: false, dtype: 'float64' });
    expect(loaded.params.bias).toBeUndefined();
    expect(viaText(linearToPyTorchStateDict(loaded.params, { style: loaded.style }))).toEqual(dict);
  });
});

describe('bad state dicts → E_STATE', () => {
  const good = () => viaText({ weight_g: entry([5, 1], 1), weight_v: entry([5, 4], 2) });

  it.each([
    ['missing v', () => ({ weight_g: entry([5, 1], 1) })],
    ['missing g', () => ({ 'parametrizations.weight.original1': entry([5, 4], 2) })],
    ['nothing of ours', () => ({ bias: entry([5], 1) })],
    ['an extra entry', () => ({ ...good(), bias: entry([5], 3) })],
    ['both naming styles', () => ({ ...good(), 'parametrizations.weight.original0': entry([5, 1], 1) })],
    ['g misshapen', () => ({ ...good(), weight_g: entry([5], 1) })],
    ['v of another shape than options.shape', () => ({ ...good(), weight_v: entry([4, 5], 2) })],
    ['data length ≠ Π shape', () => ({ ...good(), weight_v: { shape: [5, 4], data: [1, 2, 3] } })],
    ['not {shape, data}', () => ({ ...good(), weight_v: [1, 2, 3] })],
    ['not an object', () => 'weight_g'],
  ])('%s', (_, make) => {
    expectCode(() => fromPyTorchStateDict(make(), { shape: [5, 4] }), 'E_STATE');
  });

  it('ignoreUnknown lets the rest of a model through; the prefix selects the module', () => {
    const model = viaText({
      'fc1.bias': entry([5], 1),
      'fc1.weight_g': entry([5, 1], 2),
      'fc1.weight_v': entry([5, 4], 3),
      'fc2.weight': entry([2, 5], 4),
    });
    expectCode(() => fromPyTorchStateDict(model, { prefix: 'fc1' }), 'E_STATE');
    const loaded = fromPyTorchStateDict(model, { prefix: 'fc1', ignoreUnknown: true });
    expect(loaded.params.v.shape).toEqual([5, 4]);
    const linear = linearFromPyTorchStateDict(model, { inFeatures: 4, outFeatures: 5, prefix: 'fc1', ignoreUnknown: true });
    expect(Array.from(toTypedArray(linear.params.bias as Tensor))).toEqual(model['fc1.bias'].data);
  });

  it('saving misshapen parameters → E_STATE; a bad dim → E_OPTION', () => {
    const { v, g } = weightNormFromWeight(randn([5, 4], 1));
    expectCode(() => toPyTorchStateDict({ v, g }, { dim: 1 }), 'E_STATE');
    expectCode(() => toPyTorchStateDict({ v }), 'E_STATE');
    expectCode(() => toPyTorchStateDict({ v, g }, { dim: 5 }), 'E_OPTION');
    expectCode(() => linearToPyTorchStateDict({ v, g }), 'E_STATE');
  });

  it('linear: g given as (out) instead of PyTorch (out, 1) → E_STATE', () => {
    const dict = viaText({ bias: entry([3], 1), weight_g: entry([3], 2), weight_v: entry([3, 4], 3) });
    expectCode(() => linearFromPyTorchStateDict(dict, { inFeatures: 4, outFeatures: 3 }), 'E_STATE');
  });
});
