// A weight-normalized layer's parameters in a safetensors file (as
// `safetensors.torch.save_file(model.state_dict())` writes them) loaded for the `weightNorm`
// plugin through `fromPyTorchStateDict`, which takes the file's tensors as they come.
import { toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { fromPyTorchStateDict, linearFromPyTorchStateDict } from '@normkit/weight-norm';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from './read-safetensors.js';
import { writeSafetensors } from './write-safetensors.js';

describe('safetensors → fromPyTorchStateDict', () => {
  it('loads g and v of one module of a whole model, values bit for bit', () => {
    const g = randn([3, 1], 1, 'float32');
    const v = randn([3, 4], 2, 'float32');
    const bias = randn([3], 3, 'float32');
    const bytes = writeSafetensors({
      'head.weight': randn([2, 3], 4, 'float32'),
      'fc.bias': bias,
      'fc.parametrizations.weight.original0': g,
      'fc.parametrizations.weight.original1': v,
    });
    const { tensors } = readSafetensors(bytes);
    const loaded = fromPyTorchStateDict(tensors, { prefix: 'fc', ignoreUnknown: true });
    expect(loaded.style).toBe('parametrizations');
    expect(loaded.params.g.shape).toEqual([3, 1]);
    expect(Array.from(toTypedArray(loaded.params.g))).toEqual(Array.from(toTypedArray(g)));
    expect(Array.from(toTypedArray(loaded.params.v))).toEqual(Array.from(toTypedArray(v)));
    const linear = linearFromPyTorchStateDict(tensors, { inFeatures: 4, outFeatures: 3, prefix: 'fc', ignoreUnknown: true });
    expect(linear.params.g?.shape).toEqual([3]);
    expect(Array.from(toTypedArray(linear.params.g as never))).toEqual(Array.from(toTypedArray(g)));
    expect(Array.from(toTypedArray(linear.params.v as never))).toEqual(Array.from(toTypedArray(v)));
    expect(Array.from(toTypedArray(linear.params.bias as never))).toEqual(Array.from(toTypedArray(bias)));
  });
});
