// The layers' PyTorch-named state dicts (core's Layer mechanism, driven by the declarations in
// pytorch.ts and linear/pytorch.ts) agree with the JSON converters in both styles.
import { NormkitError, tensorToJSON } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { WeightNorm } from './layer.js';
import { WeightNormLinear } from './linear/layer.js';
import { linearToPyTorchStateDict } from './linear/pytorch.js';
import { toPyTorchStateDict } from './pytorch.js';

const json = (dict: Readonly<Record<string, Tensor>>) => Object.fromEntries(Object.entries(dict).map(([k, t]) => [k, tensorToJSON(t)]));

describe('weight-norm layers under { names: "pytorch" }', () => {
  for (const style of ['parametrizations', 'legacy'] as const) {
    it(`WeightNormLinear (${style}): the converter's keys, shapes and values; loads back with the style detected`, () => {
      const fc = new WeightNormLinear({ inFeatures: 4, outFeatures: 3 }, { dtype: 'float64' });
      fc.loadStateDict({ v: randn([3, 4], 1), g: randn([3], 2, 'float64', 1, 0.2), bias: randn([3], 3) });
      const sd = fc.stateDict({ names: 'pytorch', style, prefix: 'fc1' });
      expect(json(sd)).toEqual(linearToPyTorchStateDict(fc.params, { style, prefix: 'fc1' }));
      const g = style === 'legacy' ? 'fc1.weight_g' : 'fc1.parametrizations.weight.original0';
      expect(sd[g].shape).toEqual([3, 1]);
      const back = new WeightNormLinear({ inFeatures: 4, outFeatures: 3 }, { dtype: 'float64' });
      back.loadStateDict({ ...sd, 'fc2.bias': randn([3], 4) }, { names: 'pytorch', prefix: 'fc1.' });
      expect(back.params.g?.shape).toEqual([3]);
      expect(json(back.stateDict())).toEqual(json(fc.stateDict()));
    });

    it(`WeightNorm (${style}): g under the converter's key`, () => {
      const wn = new WeightNorm({ dim: 0 }, { weight: randn([3, 4], 5), dtype: 'float64' });
      const sd = wn.stateDict({ names: 'pytorch', style });
      const converted = toPyTorchStateDict({ v: randn([3, 4], 6), g: wn.params.g }, { style });
      const [gKey] = Object.keys(converted);
      expect(Object.keys(sd)).toEqual([gKey]);
      expect(tensorToJSON(sd[gKey])).toEqual(converted[gKey]);
    });
  }

  it('refuses a dict with both styles', () => {
    const fc = new WeightNormLinear({ inFeatures: 2, outFeatures: 1 }, { dtype: 'float64' });
    const both = { ...fc.stateDict({ names: 'pytorch', style: 'legacy' }), ...fc.stateDict({ names: 'pytorch' }) };
    let error: unknown;
    try {
      fc.loadStateDict(both, { names: 'pytorch' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NormkitError);
    expect((error as NormkitError).code).toBe('E_STATE');
    expect((error as NormkitError).message).toContain("'parametrizations' (");
    expect((error as NormkitError).message).toContain("'legacy' (");
  });

  it.each(['parametrizations', 'legacy'] as const)(
    "WeightNorm reads g from a weight-normalized module's file beside its other entries with strict: false (%s), and lists them",
    (style) => {
      const source = new WeightNorm({ dim: 0, shape: [4, 3, 2, 2] }, { dtype: 'float64' });
      source.loadStateDict({ g: randn([4, 1, 1, 1], 5, 'float64', 1, 0.2) });
      const module = { ...source.stateDict({ names: 'pytorch', prefix: 'conv.', style }), 'conv.bias': randn([4], 6), 'fc.weight': randn([2, 2], 7) };
      const target = new WeightNorm({ dim: 0, shape: [4, 3, 2, 2] }, { dtype: 'float64' });
      expect(() => target.loadStateDict(module, { names: 'pytorch', prefix: 'conv.' })).toThrow(/unexpected entry "conv\.bias"/);
      expect(target.loadStateDict(module, { names: 'pytorch', prefix: 'conv.', strict: false })).toEqual({ missingKeys: [], unexpectedKeys: ['conv.bias'] });
      expect(Array.from(target.params.g.data)).toEqual(Array.from(source.params.g.data));
    },
  );
});
