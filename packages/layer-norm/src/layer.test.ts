import { describe, expect, it } from 'vitest';
import { Layer, dtypeOf, isNormkitError, ones, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { LayerNorm, layerNorm } from './index.js';

const valuesOf = (t: Tensor) => Array.from(toTypedArray(t));

describe('LayerNorm (stateful layer)', () => {
  it('new LayerNorm({ normalizedShape: 768 }) has float32 weight ones and bias zeros of shape [768]', () => {
    const norm = new LayerNorm({ normalizedShape: 768 });
    expect(norm).toBeInstanceOf(Layer);
    expect(norm.plugin).toBe(layerNorm);
    expect(norm.options).toEqual({ normalizedShape: [768], eps: 1e-5, elementwiseAffine: true, bias: true });
    expect(norm.weight!.shape).toEqual([768]);
    expect(dtypeOf(norm.weight!)).toBe('float32');
    expect(valuesOf(norm.weight!).every((v) => v === 1)).toBe(true);
    expect(valuesOf(norm.bias!).every((v) => v === 0)).toBe(true);
    expect(norm.stateNames).toEqual(['weight', 'bias']);
  });

  it('bias: false keeps only the weight; elementwiseAffine: false has no parameters', () => {
    const noBias = new LayerNorm({ normalizedShape: [4], bias: false });
    expect(noBias.weight).toBeDefined();
    expect(noBias.bias).toBeUndefined();
    const plain = new LayerNorm({ normalizedShape: [4], elementwiseAffine: false });
    expect(plain.weight).toBeUndefined();
    expect(plain.bias).toBeUndefined();
    expect(plain.stateDict()).toEqual({});
  });

  it('forward/backward on rows × 768 in float32 agree with the plugin; gradients accumulate (exactly)', () => {
    const norm = new LayerNorm({ normalizedShape: 768 });
    const x = randn([8, 768], 1, 'float32', 2, 3);
    const dy = randn([8, 768], 2, 'float32');
    const y = norm.forward(x);
    const bound = layerNorm.create(norm.options);
    const direct = bound.forward({ x, params: norm.params, state: {}, mode: 'train' });
    expect(valuesOf(y)).toEqual(valuesOf(direct.y));
    const dx = norm.backward(dy, { retainSaved: true });
    const directBackward = bound.backward({ dy, params: norm.params, saved: direct.saved });
    expect(valuesOf(dx)).toEqual(valuesOf(directBackward.dx));
    const once = valuesOf(norm.grads.weight!);
    expect(once).toEqual(valuesOf(directBackward.grads.weight!));
    norm.backward(dy);
    expect(valuesOf(norm.grads.weight!)).toEqual(once.map((v) => Math.fround(v + v)));
    norm.zeroGrad();
    expect(valuesOf(norm.grads.bias!).every((v) => v === 0)).toBe(true);
  });

  it('eval() changes nothing in the result', () => {
    const norm = new LayerNorm({ normalizedShape: [3, 4] }, { dtype: 'float64' });
    norm.loadStateDict({ weight: randn([3, 4], 3), bias: randn([3, 4], 4) });
    const x = randn([2, 3, 4], 5);
    const train = valuesOf(norm.forward(x));
    norm.eval();
    expect(norm.training).toBe(false);
    expect(valuesOf(norm.forward(x))).toEqual(train);
  });

  it('a throwing forward or backward leaves parameters, gradients and the saved context unchanged', () => {
    const norm = new LayerNorm({ normalizedShape: 4 }, { dtype: 'float64' });
    const x = randn([3, 4], 6);
    norm.forward(x);
    norm.backward(randn([3, 4], 7), { retainSaved: true });
    const params = [valuesOf(norm.weight!), valuesOf(norm.bias!)];
    const grads = [valuesOf(norm.grads.weight!), valuesOf(norm.grads.bias!)];
    for (const bad of [() => norm.forward(randn([3, 5], 8)), () => norm.backward(randn([4, 4], 9))]) {
      let code: string | undefined;
      try {
        bad();
      } catch (e) {
        code = isNormkitError(e) ? e.code : 'other';
      }
      expect(code).toBe('E_SHAPE');
      expect([valuesOf(norm.weight!), valuesOf(norm.bias!)]).toEqual(params);
      expect([valuesOf(norm.grads.weight!), valuesOf(norm.grads.bias!)]).toEqual(grads);
    }
    // the saved context of the last good forward is still usable
    expect(norm.backward(ones([3, 4], 'float64')).shape).toEqual([3, 4]);
  });

  it('bad options throw E_OPTION from the constructor', () => {
    for (const options of [{ normalizedShape: 4, eps: 0 }, { normalizedShape: [] }, { normalizedShape: 4, momentum: 0.1 }]) {
      let code: string | undefined;
      try {
        new LayerNorm(options as { normalizedShape: number });
      } catch (e) {
        code = isNormkitError(e) ? e.code : 'other';
      }
      expect(code).toBe('E_OPTION');
    }
  });
});
