import { describe, expect, it } from 'vitest';
import { fromArray, toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../../test/errors.js';
import { bytesOf, scaledMaxError } from '../../test/numeric.js';
import { WeightNormLinear } from './layer.js';
import { materializeLinearWeight } from './weight.js';

describe('the WeightNormLinear layer', () => {
  it('after initFromBatch the outputs on that batch have per-unit mean 0 and variance 1 (to 1e-10, float64)', () => {
    const layer = new WeightNormLinear({ inFeatures: 8, outFeatures: 5, seed: 3 }, { dtype: 'float64' });
    const x = randn([64, 8], 31, 'float64', 2, 3);
    const vBefore = layer.params.v;
    expect(layer.initFromBatch(x)).toBe(layer);
    expect(layer.params.v).toBe(vBefore);
    const y = toTypedArray(layer.forward(x));
    for (let o = 0; o < 5; o++) {
      const column = Array.from({ length: 64 }, (_, n) => y[n * 5 + o]);
      const mean = column.reduce((a, b) => a + b) / 64;
      const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / 64;
      expect(Math.abs(mean)).toBeLessThan(1e-10);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-10);
    }
  });

  it('weight() is the materialized W = g·v/‖v‖ of the current parameters (bit-identical)', () => {
    const layer = new WeightNormLinear({ inFeatures: 3, outFeatures: 2 }, { dtype: 'float64' });
    layer.initFromBatch(randn([6, 3], 1));
    const w = layer.weight();
    expect(w.shape).toEqual([2, 3]);
    expect(bytesOf(w)).toBe(bytesOf(materializeLinearWeight(layer.params, layer.options)));
    // At init with gInit 'norm', W = v (to 1e-15).
    const fresh = new WeightNormLinear({ inFeatures: 3, outFeatures: 2 }, { dtype: 'float64' });
    expect(scaledMaxError(toTypedArray(fresh.weight()), toTypedArray(fresh.params.v!))).toBeLessThan(1e-15);
  });

  it('x whose last axis ≠ inFeatures → E_SHAPE in forward and initFromBatch; a batch too small → E_DEGENERATE; the layer is unchanged', () => {
    const layer = new WeightNormLinear({ inFeatures: 4, outFeatures: 3 }, { dtype: 'float64' });
    const snapshot = () => bytesOf(layer.params.v, layer.params.g, layer.params.bias, layer.grads.v, layer.grads.g, layer.grads.bias);
    const before = snapshot();
    const x = randn([5, 3], 1);
    const xBefore = bytesOf(x);
    expectCode(() => layer.forward(x), 'E_SHAPE');
    expectCode(() => layer.initFromBatch(x), 'E_SHAPE');
    expectCode(() => layer.initFromBatch(randn([1, 4], 2)), 'E_DEGENERATE');
    expectCode(() => layer.initFromBatch(fromArray([1, 2, 3, 4, 1, 2, 3, 4], [2, 4], 'float64')), 'E_DEGENERATE');
    expect(snapshot()).toBe(before);
    expect(bytesOf(x)).toBe(xBefore);
  });
});
