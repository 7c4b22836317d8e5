import { toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { getLayerNormBackend, setLayerNormBackend } from './backend.js';
import type { LayerNormBackend } from './backend.js';
import { layerNormBackwardKernel } from './kernels/backward.js';
import { layerNormForwardKernel, rowStatisticsKernel } from './kernels/forward.js';
import { layerNorm } from './plugin.js';

afterEach(() => setLayerNormBackend(null));

/** A backend that runs the TypeScript kernels itself, counting calls, for float32 only. */
function recordingBackend(calls: string[], pool: Tensor[]): LayerNormBackend {
  return {
    name: 'recording',
    allocate(shape, dtype) {
      if (dtype !== 'float32') return null;
      const t = zeros(shape, dtype);
      pool.push(t);
      return t;
    },
    statistics(x, leadingRank, eps, mean, invStd) {
      if (x.data instanceof Float64Array) return false;
      calls.push('statistics');
      rowStatisticsKernel(x.data, x.shape, x.stride, x.offset, leadingRank, eps, mean, invStd);
      return true;
    },
    forward(x, leadingRank, mean, invStd, scale, shift, y) {
      if (x.data instanceof Float64Array) return false;
      calls.push('forward');
      layerNormForwardKernel(x.data, x.shape, x.stride, x.offset, leadingRank, mean, invStd, scale, shift, y.data);
      return true;
    },
    backward(x, dy, leadingRank, mean, invStd, scale, dx, dscale, dshift) {
      if (x.data instanceof Float64Array) return false;
      calls.push('backward');
      layerNormBackwardKernel(x.data, x.shape, x.stride, x.offset, dy.data, dy.stride, dy.offset, leadingRank, mean, invStd, scale, dx.data, dscale, dshift);
      return true;
    },
  };
}

describe('accelerated backends', () => {
  it('dispatch every kernel to an installed backend, use its memory, and fall back on float64', () => {
    const calls: string[] = [];
    const pool: Tensor[] = [];
    const options = layerNorm.resolveOptions({ normalizedShape: [5] });
    const { params, state } = layerNorm.init(options, 'float32');
    const x = randn([3, 5], 1, 'float32');
    const dy = randn([3, 5], 2, 'float32');
    const plain = layerNorm.forward({ x, params, state, mode: 'train' }, options);
    const plainBack = layerNorm.backward({ dy, params, saved: plain.saved }, options);
    setLayerNormBackend(recordingBackend(calls, pool));
    expect(getLayerNormBackend()?.name).toBe('recording');
    const fast = layerNorm.forward({ x, params, state, mode: 'train' }, options);
    const fastBack = layerNorm.backward({ dy, params, saved: fast.saved }, options);
    expect(calls).toEqual(['statistics', 'forward', 'backward']);
    expect(pool).toEqual([fast.y, fastBack.dx]);
    expect(Array.from(toTypedArray(fast.y))).toEqual(Array.from(toTypedArray(plain.y)));
    expect(Array.from(toTypedArray(fastBack.dx))).toEqual(Array.from(toTypedArray(plainBack.dx)));
    expect(Array.from(toTypedArray(fastBack.grads.weight!))).toEqual(Array.from(toTypedArray(plainBack.grads.weight!)));
    calls.length = 0;
    const o64 = layerNorm.init(options, 'float64');
    layerNorm.forward({ x: randn([3, 5], 3), params: o64.params, state: o64.state, mode: 'train' }, options);
    expect(calls).toEqual([]);
  });
});
