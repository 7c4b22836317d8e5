import { describe, expect, it } from 'vitest';
import { toTypedArray } from '@normkit/core';
import type { TensorJSON } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../../test/errors.js';
import { pytorchKeys } from '../state-dict.js';
import { WeightNormLinear } from './layer.js';
import { linearFromPyTorchStateDict, linearToPyTorchStateDict } from './pytorch.js';

/** A JSON entry with float32-exact values (what PyTorch's float32 `.tolist()` gives). */
function entry(shape: number[], seed: number): TensorJSON {
  return { shape, data: Array.from(toTypedArray(randn(shape, seed, 'float32'))) };
}

/** Through JSON text, as a file written by Python and read by Node would be. */
function viaText<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

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

describe('bad linear state dicts', () => {
  it('linear: g given as (out) instead of PyTorch (out, 1) → E_STATE', () => {
    const dict = viaText({ bias: entry([3], 1), weight_g: entry([3], 2), weight_v: entry([3, 4], 3) });
    expectCode(() => linearFromPyTorchStateDict(dict, { inFeatures: 4, outFeatures: 3 }), 'E_STATE');
  });

  it('saving misshapen parameters → E_STATE', () => {
    const v = randn([3, 4], 1);
    expectCode(() => linearToPyTorchStateDict({ v, g: randn([3, 1], 2) }), 'E_STATE');
    expectCode(() => linearToPyTorchStateDict({ v: randn([3, 4, 1], 1), g: randn([3], 2) }), 'E_STATE');
    expectCode(() => linearToPyTorchStateDict({ v, g: randn([3], 2), bias: randn([4], 3) }), 'E_STATE');
  });
});
