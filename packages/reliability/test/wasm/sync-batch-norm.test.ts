import { batchNorm } from '@normkit/batch-norm';
import { KERNEL_NAMES, unregisterBackend } from '@normkit/core';
import type { KernelName, Shape, Tensor } from '@normkit/core';
import { syncBatchNorm } from '@normkit/sync-batch-norm';
import type { AllReduce } from '@normkit/sync-batch-norm';
import { randn, scaledError } from '@normkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKEND_NAME, createWasmBackend } from '@normkit/wasm';
import type { WasmBackend } from '@normkit/wasm';

// These tests compare an explicitly enabled backend with the TypeScript kernels: the zero-config
// default backend that importing a plugin installs is removed for this file (vitest runs each
// test file in its own worker).
unregisterBackend(DEFAULT_BACKEND_NAME);

// Synchronized batch norm all-reduces its per-channel gradient sums between the reductions and
// the input gradient (`normalizeBackward`'s `reduceGroupSums` hook), which rules out the fused
// `backwardCells`: its backward runs the split kernels gradientSums and inputGradient, and its
// forward batchStatistics + normalizeForward (moments, normalizeCells). All of them run in wasm
// here with every kernel of the backend installed, fused ones included.

let backend: WasmBackend;
beforeAll(async () => {
  const b = await createWasmBackend({ memoryBytes: 16 * 1024 * 1024 });
  if (b === false) throw new Error('no wasm SIMD on this host');
  backend = b;
  backend.install();
});
afterAll(() => backend.disable());

/**
 * Rank 0 of a group of two whose other member holds an empty share of the batch: it adds zeros to
 * every sum, so `sum` leaves the values as they are. The layer still takes the distributed path
 * (gathered moments, all-reduced gradient sums), and its results are batch norm's on this share.
 */
function groupWithEmptyPeer(): AllReduce {
  return {
    rank: 0,
    size: 2,
    sum(values: Float64Array): void {
      void values;
    },
    abort(reason: string): void {
      throw new Error(`unexpected abort: ${reason}`);
    },
  };
}


function kernelCalls(before: Readonly<Record<KernelName, number>>): Partial<Record<KernelName, number>> {
  const calls: Partial<Record<KernelName, number>> = {};
  for (const name of KERNEL_NAMES) if (backend.counters.kernels[name] !== before[name]) calls[name] = backend.counters.kernels[name] - before[name];
  return calls;
}

describe('sync batch norm through the wasm split kernels', () => {
  const cases: Array<[Shape, number]> = [
    [[8, 3, 5], 1],
    [[37, 6], 1], // (N, C) columns, C % 4 = 2
    [[2, 3, 4, 5], -1], // channels last
    [[3, 5, 2, 7], 1], // planes
  ];
  it.each(cases)('%j (channel axis %i): the distributed path runs moments, normalizeCells, gradientSums and inputGradient in wasm and agrees with the TypeScript kernels and with batch norm', (shape, channelAxis) => {
    const channels = shape[channelAxis < 0 ? shape.length + channelAxis : channelAxis];
    const sync = syncBatchNorm.create({ numFeatures: channels, channelAxis, allReduce: groupWithEmptyPeer() });
    const weight = randn([channels], 1, 'float32', 1, 0.5);
    const bias = randn([channels], 2, 'float32');
    const params = { weight, bias };
    const { state } = sync.init('float32');
    const x = randn(shape, 3, 'float32', 1, 2);
    const dy = randn(shape, 4, 'float32');
    const run = () => {
      const f = sync.forward({ x, params, state, mode: 'train' });
      return { f, b: sync.backward({ dy, params, saved: f.saved }) };
    };

    const before = { ...backend.counters.kernels };
    const declined = backend.counters.declined;
    const wasm = run();
    expect(wasm.f.saved.synchronized).toBe(true);
    expect(kernelCalls(before)).toEqual({ moments: 1, normalizeCells: 1, gradientSums: 1, inputGradient: 1 });
    expect(backend.counters.declined).toBe(declined);

    backend.uninstall();
    let ts: ReturnType<typeof run>;
    let bn: { y: Tensor; dx: Tensor; weight: Tensor; bias: Tensor };
    try {
      ts = run();
      const plain = batchNorm.create({ numFeatures: channels, channelAxis });
      const f = plain.forward({ x, params, state, mode: 'train' });
      const b = plain.backward({ dy, params, saved: f.saved });
      bn = { y: f.y, dx: b.dx, weight: b.grads.weight!, bias: b.grads.bias! };
    } finally {
      backend.install();
    }
    // The tolerances of property.test.ts: the element-wise passes run in float32 lanes, 2e-6
    // relative to the output's scale; dx = a·dy + b·(x − mean) + k cancels, so its rounding is
    // relative to the size of the terms, max |γ·invStd|·max |dy|.
    let terms = 0;
    for (let ch = 0; ch < channels; ch++) terms = Math.max(terms, Math.abs(weight.data[ch] * ts.f.saved.invStd[ch]));
    terms *= Math.max(...Array.from(dy.data, Math.abs));
    for (const reference of [{ y: ts.f.y, dx: ts.b.dx, weight: ts.b.grads.weight!, bias: ts.b.grads.bias! }, bn]) {
      expect(scaledError(wasm.f.y, reference.y)).toBeLessThan(2e-6);
      expect(scaledError(wasm.b.dx, reference.dx)).toBeLessThan(2e-6 * (1 + terms));
      expect(scaledError(wasm.b.grads.weight!, reference.weight)).toBeLessThan(2e-6);
      expect(scaledError(wasm.b.grads.bias!, reference.bias)).toBeLessThan(2e-6);
    }
    expect(scaledError(wasm.f.state.runningVar!, ts.f.state.runningVar!)).toBeLessThan(1e-7);
  });

  it('alone (the loopback group) it is batch norm and takes the fused backward', () => {
    const sync = syncBatchNorm.create({ numFeatures: 3 });
    const { params, state } = sync.init('float32');
    const x = randn([6, 3, 4], 5, 'float32');
    const before = { ...backend.counters.kernels };
    const f = sync.forward({ x, params, state, mode: 'train' });
    sync.backward({ dy: randn([6, 3, 4], 6, 'float32'), params, saved: f.saved });
    expect(f.saved.synchronized).toBe(false);
    expect(kernelCalls(before)).toEqual({ moments: 1, normalizeCells: 1, backwardCells: 1 });
  });
});
