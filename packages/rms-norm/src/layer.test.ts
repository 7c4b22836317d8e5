import { toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { RMSNorm } from './layer.js';

describe('RMSNorm layer', () => {
  it('starts at weight 1 in float32, accumulates its gradient, and has no bias', () => {
    const layer = new RMSNorm({ normalizedShape: 4 });
    expect(layer.weight?.data).toBeInstanceOf(Float32Array);
    expect(layer.stateNames).toEqual(['weight']);
    const x = randn([3, 4], 1, 'float32');
    const dy = randn([3, 4], 2, 'float32');
    layer.forward(x);
    layer.backward(dy);
    const first = Array.from(toTypedArray(layer.grads.weight!));
    layer.forward(x);
    layer.backward(dy);
    const second = Array.from(toTypedArray(layer.grads.weight!));
    second.forEach((v, i) => expect(v).toBeCloseTo(2 * first[i], 5)); // float32 sums: 5 digits
  });
});
