import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { batchStatistics, planNormalization, viewOf } from '@normkit/core';
import type { Shape } from '@normkit/core';
import { randn, scaledError } from '@normkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableWasm, enableWasm } from '@normkit/wasm';
import type { WasmBackend } from '@normkit/wasm';
import { DEFAULT_BACKEND_NAME } from '@normkit/wasm';
import { unregisterBackend } from '@normkit/core';

// These tests compare an explicitly enabled backend with the TypeScript kernels: the zero-config
// default backend that importing a plugin installs is removed for this file (vitest runs each
// test file in its own worker).
unregisterBackend(DEFAULT_BACKEND_NAME);

// threads: 2 with threshold 0, so every wasm run is split: by the outer axis B (partial sums
// merged on this thread), by the kept axis C when B = 1, by rows for the rows kernels.
let backend: WasmBackend;
beforeAll(async () => {
  const b = await enableWasm({ memoryBytes: 32 * 1024 * 1024, threads: 2, threadThreshold: 0 });
  if (b === false) throw new Error('no SIMD');
  backend = b;
});
afterAll(() => disableWasm());


function onTypeScript<T>(fn: () => T): T {
  backend.uninstall();
  try {
    return fn();
  } finally {
    backend.install();
  }
}

describe('two threads', () => {
  const bnShapes: Array<[Shape, number]> = [
    [[37, 13], 1],
    [[5, 6, 7, 9], 1],
    [[1, 7, 5, 11], 1], // outer = 1: split by channels
    [[3, 5, 4, 6], 3],
    [[2, 1, 33], 1], // one channel: one plane of 66, not split
    [[2, 3, 1], 1], // columns (N, C) after dropping the size-1 axis
  ];
  it.each(bnShapes)('batch norm %j (channel axis %i) matches the TypeScript kernels', (shape, axis) => {
    const channels = shape[axis];
    const bn = batchNorm.create({ numFeatures: channels, channelAxis: axis });
    const weight = randn([channels], 1, 'float32', 1, 0.5);
    const bias = randn([channels], 2, 'float32');
    const { state } = bn.init('float32');
    const x = randn(shape, 3, 'float32', 2, 3);
    const dy = randn(shape, 4, 'float32');
    const run = () => {
      const f = bn.forward({ x, params: { weight, bias }, state, mode: 'train' });
      return { f, b: bn.backward({ dy, params: { weight, bias }, saved: f.saved }) };
    };
    const threaded = backend.counters.threaded;
    const fused = { ...backend.counters.kernels };
    const w = run();
    expect(backend.counters.kernels.normalizeBatch - fused.normalizeBatch).toBe(1);
    expect(backend.counters.kernels.backwardCells - fused.backwardCells).toBe(1);
    // Each of the four wasm runs (the statistics and the normalization of normalizeBatch, the
    // sums and the input gradient of backwardCells) splits its (B, C, D) block by B, or by C
    // when B = 1; one channel, (2, 1, 33), merges into a single plane (1, 1, 1, 66), which runs
    // on this thread.
    const blocks = planNormalization(shape, [axis], [axis]).statsBlocks!;
    expect(backend.counters.threaded - threaded).toBe(blocks.B >= 2 || blocks.C >= 2 ? 4 : 0);
    const t = onTypeScript(run);
    expect(scaledError(w.f.saved.center, t.f.saved.center)).toBeLessThan(1e-12);
    expect(scaledError(w.f.saved.invStd, t.f.saved.invStd)).toBeLessThan(1e-10);
    expect(scaledError(w.f.y, t.f.y)).toBeLessThan(2e-6);
    expect(scaledError(w.b.dx, t.b.dx)).toBeLessThan(2e-5);
    expect(scaledError(w.b.grads.weight!, t.b.grads.weight!)).toBeLessThan(2e-6);
    expect(scaledError(w.b.grads.bias!, t.b.grads.bias!)).toBeLessThan(2e-6);
  });

  it.each([[[9, 31]], [[2, 3, 8]], [[1, 12]]] as Array<[Shape]>)('layer norm %j matches the TypeScript kernels', (shape) => {
    const normalized = [shape[shape.length - 1]];
    const ln = layerNorm.create({ normalizedShape: normalized });
    const weight = randn(normalized, 1, 'float32', 1, 0.5);
    const bias = randn(normalized, 2, 'float32');
    const x = randn(shape, 3, 'float32', -1, 2);
    const dy = randn(shape, 4, 'float32');
    const run = () => {
      const f = ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train' });
      return { f, b: ln.backward({ dy, params: { weight, bias }, saved: f.saved }) };
    };
    const threaded = backend.counters.threaded;
    const fused = backend.counters.kernels.normalizeBatch;
    const w = run();
    expect(backend.counters.kernels.normalizeBatch - fused).toBe(1);
    // every run splits (normalizeBatch's statistics by rows and its forward map, backwardRows)
    // except on one row
    expect(backend.counters.threaded - threaded).toBe(shape.slice(0, -1).reduce((a, b) => a * b, 1) >= 2 ? 3 : 0);
    const t = onTypeScript(run);
    expect(scaledError(w.f.y, t.f.y)).toBeLessThan(2e-6);
    expect(scaledError(w.b.dx, t.b.dx)).toBeLessThan(4e-6);
    expect(scaledError(w.b.grads.weight!, t.b.grads.weight!)).toBeLessThan(2e-6);
    expect(scaledError(w.b.grads.bias!, t.b.grads.bias!)).toBeLessThan(2e-6);
  });

  it.each([
    ['uncentered, columns split by halves of B', [40, 13], [1]],
    ['uncentered, planes split by C when B = 1', [1, 6, 50], [1]],
    ['centered, A > 1 (each slice split)', [3, 20, 7], [0, 2]],
  ] as Array<[string, Shape, number[]]>)('moments: %s', (_what, shape, groupAxes) => {
    const plan = planNormalization(shape, groupAxes, null);
    const x = viewOf(randn(shape, 9, 'float32', 1, 2));
    const centered = !_what.startsWith('uncentered');
    const threaded = backend.counters.threaded;
    const w = batchStatistics(x, plan, centered, 1e-5);
    expect(backend.counters.threaded - threaded).toBe(plan.statsBlocks!.A);
    const t = onTypeScript(() => batchStatistics(x, plan, centered, 1e-5));
    expect(scaledError(w.center, t.center)).toBeLessThan(1e-12);
    expect(scaledError(w.variance, t.variance)).toBeLessThan(1e-12);
  });
});
