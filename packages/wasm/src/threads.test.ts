import { batchNorm, setBatchNormBackend } from '@normkit/batch-norm';
import { layerNorm, setLayerNormBackend } from '@normkit/layer-norm';
import { toTypedArray } from '@normkit/core';
import type { Shape, Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableWasm, enableWasm } from './index.js';
import type { WasmBackend } from './index.js';

// threads: 2 with threshold 0, so every kernel is split: by the outer axis (partial sums
// merged on this thread), by channels when outer = 1, by rows for layer norm.
let backend: WasmBackend;
beforeAll(async () => {
  const b = await enableWasm({ memoryBytes: 32 * 1024 * 1024, threads: 2, threadThreshold: 0 });
  if (b === false) throw new Error('no SIMD');
  backend = b;
});
afterAll(() => disableWasm());

function scaledError(a: Tensor | Float64Array, b: Tensor | Float64Array): number {
  const x = a instanceof Float64Array ? a : toTypedArray(a);
  const y = b instanceof Float64Array ? b : toTypedArray(b);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < y.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]));
    err = Math.max(err, Math.abs(x[i] - y[i]));
  }
  return err / (1 + scale);
}

function onTypeScript<T>(fn: () => T): T {
  setBatchNormBackend(null);
  setLayerNormBackend(null);
  try {
    return fn();
  } finally {
    setBatchNormBackend(backend.batchNorm);
    setLayerNormBackend(backend.layerNorm);
  }
}

describe('two threads', () => {
  const bnShapes: Array<[Shape, number]> = [
    [[37, 13], 1],
    [[5, 6, 7, 9], 1],
    [[1, 7, 5, 11], 1], // outer = 1: split by channels
    [[3, 5, 4, 6], 3],
    [[2, 1, 33], 1], // outer 2, one channel
  ];
  it.each(bnShapes)('batch norm %j (channel axis %i) matches the TypeScript kernels', (shape, axis) => {
    const channels = shape[axis];
    const options = batchNorm.resolveOptions({ numFeatures: channels, channelAxis: axis });
    const weight = randn([channels], 1, 'float32', 1, 0.5);
    const bias = randn([channels], 2, 'float32');
    const { state } = batchNorm.init(options, 'float32');
    const x = randn(shape, 3, 'float32', 2, 3);
    const dy = randn(shape, 4, 'float32');
    const run = () => {
      const f = batchNorm.forward({ x, params: { weight, bias }, state, mode: 'train' }, options);
      return { f, b: batchNorm.backward({ dy, params: { weight, bias }, saved: f.saved }, options) };
    };
    const threaded = backend.counters.threaded;
    const w = run();
    expect(backend.counters.threaded - threaded).toBe(4);
    const t = onTypeScript(run);
    expect(scaledError(w.f.saved.mean, t.f.saved.mean)).toBeLessThan(1e-12);
    expect(scaledError(w.f.saved.invStd, t.f.saved.invStd)).toBeLessThan(1e-10);
    expect(scaledError(w.f.y, t.f.y)).toBeLessThan(2e-6);
    expect(scaledError(w.b.dx, t.b.dx)).toBeLessThan(2e-5);
    expect(scaledError(w.b.grads.weight!, t.b.grads.weight!)).toBeLessThan(2e-6);
    expect(scaledError(w.b.grads.bias!, t.b.grads.bias!)).toBeLessThan(2e-6);
  });

  it.each([[[9, 31]], [[2, 3, 8]], [[3, 1]]] as Array<[Shape]>)('layer norm %j matches the TypeScript kernels', (shape) => {
    const normalized = [shape[shape.length - 1]];
    const options = layerNorm.resolveOptions({ normalizedShape: normalized });
    const weight = randn(normalized, 1, 'float32', 1, 0.5);
    const bias = randn(normalized, 2, 'float32');
    const x = randn(shape, 3, 'float32', -1, 2);
    const dy = randn(shape, 4, 'float32');
    const run = () => {
      const f = layerNorm.forward({ x, params: { weight, bias }, state: {}, mode: 'train' }, options);
      return { f, b: layerNorm.backward({ dy, params: { weight, bias }, saved: f.saved }, options) };
    };
    const w = run();
    const t = onTypeScript(run);
    expect(scaledError(w.f.y, t.f.y)).toBeLessThan(2e-6);
    expect(scaledError(w.b.dx, t.b.dx)).toBeLessThan(4e-6);
    expect(scaledError(w.b.grads.weight!, t.b.grads.weight!)).toBeLessThan(2e-6);
    expect(scaledError(w.b.grads.bias!, t.b.grads.bias!)).toBeLessThan(2e-6);
  });
});
