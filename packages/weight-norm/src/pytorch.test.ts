import { describe, expect, it } from 'vitest';
import { dtypeOf, toTypedArray } from '@normkit/core';
import type { Normalizer, TensorJSON } from '@normkit/core';
import { loadCases, pluginFor, runCase } from '@normkit/conformance';
import { randn } from '@normkit/testkit';
import { scaledMaxError } from '../test/numeric.js';
import { WeightNorm, weightNormFromWeight } from './layer.js';
import { weightNormLinear } from './linear/plugin.js';
import { weightNorm } from './plugin.js';
import { fromPyTorchStateDict, toPyTorchStateDict, weightNormPyTorch } from './pytorch.js';
import type { PyTorchStyle } from './state-dict.js';
import { pytorchKeys } from './state-dict.js';

/** A JSON entry with float32-exact values (what PyTorch's float32 `.tolist()` gives). */
function entry(shape: number[], seed: number): TensorJSON {
  return { shape, data: Array.from(toTypedArray(randn(shape, seed, 'float32'))) };
}

/** Through JSON text, as a file written by Python and read by Node would be. */
function viaText<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('PyTorch names (weightNormPyTorch)', () => {
  const cases = loadCases().filter((c) => c.layer === 'weight_norm');

  it('the weight_norm vectors find weightNorm (not the dense layer), with v, w, dw, dv; g is original0 (default) or weight_g (legacy)', () => {
    expect(weightNorm.pytorch).toBe(weightNormPyTorch);
    expect(weightNormPyTorch.stateDict).toEqual({ g: 'parametrizations.weight.original0' });
    expect(weightNormPyTorch.stateDictStyles).toEqual({ parametrizations: { g: 'parametrizations.weight.original0' }, legacy: { g: 'weight_g' } });
    expect(cases.length).toBe(6);
    for (const c of cases) expect(pluginFor(c, [weightNormLinear, weightNorm] as readonly Normalizer[])).toBe(weightNorm);
  });

  it('case options map to the plugin options: dim (null for dim=None) and the shape of v', () => {
    for (const c of cases) {
      const options = weightNormPyTorch.options(c.options, { v: [4, 3, 3, 3], g: [] });
      expect(options).toEqual({ dim: c.options.dim, shape: [4, 3, 3, 3] });
      expect(() => weightNorm.create(options)).not.toThrow();
    }
  });

  it('runCase reports a failure when the plugin is wrong: a case with its expected dv negated fails', () => {
    const c = cases[0];
    const dv = c.expected?.dv as { shape: number[]; data: number[] };
    const broken = { ...c, expected: { ...c.expected, dv: { shape: dv.shape, data: dv.data.map((x) => -x - 1) } } };
    expect(runCase(broken, weightNorm, { dtype: 'float64' }).status).toBe('fail');
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

