import { groupMomentsKernel, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { getBatchNormBackend, setBatchNormBackend } from './backend.js';
import type { BatchNormBackend } from './backend.js';
import { gradientSumsKernel, inputGradientKernel } from './kernels/backward.js';
import { normalizeKernel } from './kernels/normalize.js';
import { batchNorm } from './plugin.js';

afterEach(() => setBatchNormBackend(null));

/** A backend that runs the TypeScript kernels itself, counting calls, for float32 only. */
function recordingBackend(calls: string[], pool: Tensor[]): BatchNormBackend {
  return {
    name: 'recording',
    allocate(shape, dtype) {
      if (dtype !== 'float32') return null;
      const t = zeros(shape, dtype);
      pool.push(t);
      return t;
    },
    statistics(x, axis, mean, variance) {
      if (x.data instanceof Float64Array) return false;
      calls.push('statistics');
      groupMomentsKernel(x.data, x.shape, x.stride, x.offset, [axis], mean, variance);
      return true;
    },
    normalize(x, axis, mean, scale, shift, y) {
      if (x.data instanceof Float64Array) return false;
      calls.push('normalize');
      normalizeKernel(x.data, x.shape, x.stride, x.offset, axis, mean, scale, shift, y.data);
      return true;
    },
    gradientSums(x, dy, axis, mean, sumDy, sumDyCentered) {
      if (x.data instanceof Float64Array) return false;
      calls.push('gradientSums');
      gradientSumsKernel(x.data, x.shape, x.stride, x.offset, dy.data, dy.stride, dy.offset, axis, mean, sumDy, sumDyCentered);
      return true;
    },
    inputGradient(x, dy, axis, mean, a, b, k, dx) {
      if (x.data instanceof Float64Array) return false;
      calls.push('inputGradient');
      inputGradientKernel(x.data, x.shape, x.stride, x.offset, dy.data, dy.stride, dy.offset, axis, mean, a, b, k, dx.data);
      return true;
    },
  };
}

describe('accelerated backends', () => {
  it('dispatch every kernel to an installed backend and use its output memory', () => {
    const calls: string[] = [];
    const pool: Tensor[] = [];
    const options = batchNorm.resolveOptions({ numFeatures: 3 });
    const { params, state } = batchNorm.init(options, 'float32');
    const x = randn([4, 3, 5], 1, 'float32');
    const dy = randn([4, 3, 5], 2, 'float32');
    const plain = batchNorm.forward({ x, params, state, mode: 'train' }, options);
    const plainDx = batchNorm.backward({ dy, params, saved: plain.saved }, options).dx;
    setBatchNormBackend(recordingBackend(calls, pool));
    expect(getBatchNormBackend()?.name).toBe('recording');
    const fast = batchNorm.forward({ x, params, state, mode: 'train' }, options);
    const fastDx = batchNorm.backward({ dy, params, saved: fast.saved }, options).dx;
    expect(calls).toEqual(['statistics', 'normalize', 'gradientSums', 'inputGradient']);
    expect(pool).toEqual([fast.y, fastDx]);
    expect(Array.from(toTypedArray(fast.y))).toEqual(Array.from(toTypedArray(plain.y)));
    expect(Array.from(toTypedArray(fastDx))).toEqual(Array.from(toTypedArray(plainDx)));
  });

  it('fall back to the TypeScript kernels when a hook declines (float64 here)', () => {
    const calls: string[] = [];
    setBatchNormBackend(recordingBackend(calls, []));
    const options = batchNorm.resolveOptions({ numFeatures: 2 });
    const { params, state } = batchNorm.init(options, 'float64');
    const f = batchNorm.forward({ x: randn([5, 2], 3), params, state, mode: 'train' }, options);
    batchNorm.backward({ dy: randn([5, 2], 4), params, saved: f.saved }, options);
    expect(calls).toEqual([]);
    expect(f.y.data).toBeInstanceOf(Float64Array);
  });

  it('never touch the backend when validation fails', () => {
    const calls: string[] = [];
    const pool: Tensor[] = [];
    setBatchNormBackend(recordingBackend(calls, pool));
    const options = batchNorm.resolveOptions({ numFeatures: 2 });
    const { params, state } = batchNorm.init(options, 'float32');
    expect(() => batchNorm.forward({ x: randn([1, 2], 1, 'float32'), params, state, mode: 'train' }, options)).toThrow();
    expect(() => batchNorm.forward({ x: randn([4, 3], 1, 'float32'), params, state, mode: 'train' }, options)).toThrow();
    expect(calls).toEqual([]);
    expect(pool).toEqual([]);
  });
});
