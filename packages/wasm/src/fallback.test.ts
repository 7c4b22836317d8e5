import { batchNorm, getBatchNormBackend } from '@normkit/batch-norm';
import { getLayerNormBackend, layerNorm } from '@normkit/layer-norm';
import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { activeWasm, disableWasm, enableWasm, wasmSimdSupported } from './index.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await disableWasm();
});

function maxDiff(a: Tensor, b: Tensor): number {
  const x = toTypedArray(a);
  const y = toTypedArray(b);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

describe('dispatch and fallback', () => {
  it('float64 runs the TypeScript kernels, bit for bit, with the backend on', async () => {
    const options = batchNorm.resolveOptions({ numFeatures: 3 });
    const { params, state } = batchNorm.init(options, 'float64');
    const x = randn([5, 3, 4], 1);
    const dy = randn([5, 3, 4], 2);
    const ref = batchNorm.forward({ x, params, state, mode: 'train' }, options);
    const refDx = batchNorm.backward({ dy, params, saved: ref.saved }, options).dx;
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const f = batchNorm.forward({ x, params, state, mode: 'train' }, options);
    const dx = batchNorm.backward({ dy, params, saved: f.saved }, options).dx;
    expect(f.y.data).toBeInstanceOf(Float64Array);
    expect(Array.from(toTypedArray(f.y))).toEqual(Array.from(toTypedArray(ref.y)));
    expect(Array.from(toTypedArray(dx))).toEqual(Array.from(toTypedArray(refDx)));
    expect(wasm.counters.handled).toBe(0);
    expect(wasm.counters.declined).toBe(4);
    expect(wasm.pool.stats().liveTensors).toBe(0);
  });

  it('strided float32 views run the TypeScript kernels and still give the right answer', async () => {
    const options = layerNorm.resolveOptions({ normalizedShape: [4] });
    const { params } = layerNorm.init(options, 'float32');
    const base = randn([4, 6], 3, 'float32');
    const view = base.transpose(1, 0).hi(4, 4); // (4, 4) with strides [1, 4]: not row-major
    const dy = randn([4, 4], 4, 'float32');
    const ref = layerNorm.forward({ x: view, params, state: {}, mode: 'train' }, options);
    const refBack = layerNorm.backward({ dy, params, saved: ref.saved }, options);
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const f = layerNorm.forward({ x: view, params, state: {}, mode: 'train' }, options);
    const back = layerNorm.backward({ dy, params, saved: f.saved }, options);
    expect(wasm.counters.handled).toBe(0);
    expect(wasm.counters.declined).toBe(3);
    expect(maxDiff(f.y, ref.y)).toBe(0);
    expect(maxDiff(back.dx, refBack.dx)).toBe(0);
    // the outputs still live in the pool (allocate ran; the TypeScript kernel wrote them)
    expect(f.y.data.buffer).toBe(wasm.pool.buffer);
  });

  it('a caller-provided JS-heap `out` is written by the wasm kernel and copied out', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const options = batchNorm.resolveOptions({ numFeatures: 5, channelAxis: -1 });
    const { params, state } = batchNorm.init(options, 'float32');
    const x = randn([3, 7, 5], 5, 'float32');
    const out = randn([3, 7, 5], 6, 'float32');
    const f = batchNorm.forward({ x, params, state, mode: 'train', out }, options);
    expect(f.y).toBe(out);
    expect(wasm.counters.copiedOut).toBe(1);
    await disableWasm();
    expect(maxDiff(out, batchNorm.forward({ x, params, state, mode: 'train' }, options).y)).toBeLessThan(1e-6);
  });

  it('enableWasm installs both hooks; disableWasm restores the TypeScript kernels', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    expect(getBatchNormBackend()?.name).toBe('wasm-simd');
    expect(getLayerNormBackend()?.name).toBe('wasm-simd');
    expect(activeWasm()).toBe(wasm);
    await disableWasm();
    expect(getBatchNormBackend()).toBeNull();
    expect(getLayerNormBackend()).toBeNull();
    expect(activeWasm()).toBeNull();
  });

  it('without WebAssembly SIMD, enableWasm returns false and the TypeScript kernels keep running', async () => {
    expect(wasmSimdSupported()).toBe(true);
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    expect(wasmSimdSupported()).toBe(false);
    expect(await enableWasm()).toBe(false);
    expect(getBatchNormBackend()).toBeNull();
    expect(getLayerNormBackend()).toBeNull();
    const options = layerNorm.resolveOptions({ normalizedShape: [3] });
    const y = layerNorm.forward({ x: randn([2, 3], 1, 'float32'), params: layerNorm.init(options, 'float32').params, state: {}, mode: 'train' }, options).y;
    expect(y.data.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('rejects bad options with E_OPTION', async () => {
    await expect(enableWasm({ threads: 3 as 1 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(enableWasm({ memoryBytes: -1 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(enableWasm({ threadThreshold: 1.5 })).rejects.toMatchObject({ code: 'E_OPTION' });
  });
});
