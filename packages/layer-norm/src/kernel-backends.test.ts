import { backwardRowsKernel, momentsKernel, normalizeRowsKernel, registerKernel, resetKernelRegistry, toTypedArray } from '@normkit/core';
import type { KernelName } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layerNorm } from './plugin.js';

// Layer norm runs its kernels through core's kernel registry, where accelerated backends
// (such as @normkit/wasm) plug in. A recording backend that handles float32 calls with the
// TypeScript kernels themselves shows which kernels run and that a decline falls back.
beforeEach(() => resetKernelRegistry());
afterEach(() => resetKernelRegistry());

/** Registers a float32-only backend for layer norm's kernels that records each call. */
function recordingBackend(calls: KernelName[]): void {
  const f32 = (data: Float32Array | Float64Array) => data instanceof Float32Array;
  registerKernel({ kernel: 'moments', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('moments'), momentsKernel(call), true) });
  registerKernel({ kernel: 'normalizeRows', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('normalizeRows'), normalizeRowsKernel(call), true) });
  registerKernel({ kernel: 'backwardRows', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('backwardRows'), backwardRowsKernel(call), true) });
}

describe('layer norm on the kernel registry', () => {
  it('sends its kernel calls to a registered backend, with the same results, and falls back on float64', () => {
    const ln = layerNorm.create({ normalizedShape: [5] });
    const { params, state } = ln.init('float32');
    const x = randn([3, 5], 1, 'float32');
    const dy = randn([3, 5], 2, 'float32');
    const plain = ln.forward({ x, params, state, mode: 'train' });
    const plainBack = ln.backward({ dy, params, saved: plain.saved });
    const calls: KernelName[] = [];
    recordingBackend(calls);
    const fast = ln.forward({ x, params, state, mode: 'train' });
    const fastBack = ln.backward({ dy, params, saved: fast.saved });
    expect(calls).toEqual(['moments', 'normalizeRows', 'backwardRows']);
    expect(Array.from(toTypedArray(fast.y))).toEqual(Array.from(toTypedArray(plain.y)));
    expect(Array.from(toTypedArray(fastBack.dx))).toEqual(Array.from(toTypedArray(plainBack.dx)));
    expect(Array.from(toTypedArray(fastBack.grads.weight!))).toEqual(Array.from(toTypedArray(plainBack.grads.weight!)));
    calls.length = 0;
    const o64 = ln.init('float64');
    ln.forward({ x: randn([3, 5], 3), params: o64.params, state: o64.state, mode: 'train' });
    expect(calls).toEqual([]);
  });

  it('without an affine it uses the cells kernels, which the backend here does not take: they run in TypeScript', () => {
    const calls: KernelName[] = [];
    recordingBackend(calls);
    const ln = layerNorm.create({ normalizedShape: [5], elementwiseAffine: false });
    const x = randn([3, 5], 1, 'float32');
    const { y, saved } = ln.forward({ x, params: {}, state: {}, mode: 'train' });
    ln.backward({ dy: randn([3, 5], 2, 'float32'), params: {}, saved });
    expect(calls).toEqual(['moments']);
    // each row of y has mean 0 (float32 output of a float64 computation: 1e-6)
    const values = Array.from(toTypedArray(y));
    for (let r = 0; r < 3; r++) expect(Math.abs(values.slice(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
  });
});
