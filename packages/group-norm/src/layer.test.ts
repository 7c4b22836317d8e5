import { toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { GroupNorm } from './layer.js';
import { groupNorm } from './plugin.js';

describe('GroupNorm layer', () => {
  it('starts at weight 1, bias 0 in float32, and its forward/backward equal the plugin on the same parameters', () => {
    const layer = new GroupNorm({ numGroups: 2, numChannels: 4 });
    expect(layer.weight?.data).toBeInstanceOf(Float32Array);
    expect(Array.from(toTypedArray(layer.weight!))).toEqual([1, 1, 1, 1]);
    expect(Array.from(toTypedArray(layer.bias!))).toEqual([0, 0, 0, 0]);
    const x = randn([2, 4, 3], 1, 'float32');
    const dy = randn([2, 4, 3], 2, 'float32');
    const y = layer.forward(x);
    const dx = layer.backward(dy);
    const bound = groupNorm.create({ numGroups: 2, numChannels: 4 });
    const result = bound.forward({ x, params: layer.params, state: {}, mode: 'train' });
    const grads = bound.backward({ dy, params: layer.params, saved: result.saved });
    expect(Array.from(toTypedArray(y))).toEqual(Array.from(toTypedArray(result.y)));
    expect(Array.from(toTypedArray(dx))).toEqual(Array.from(toTypedArray(grads.dx)));
    expect(Array.from(toTypedArray(layer.grads.weight!))).toEqual(Array.from(toTypedArray(grads.grads.weight!)));
  });

  it('has no parameters with affine: false', () => {
    const layer = new GroupNorm({ numGroups: 1, numChannels: 3, affine: false });
    expect(layer.weight).toBeUndefined();
    expect(layer.stateNames).toEqual([]);
  });
});
