import { gradientSumsKernel, inputGradientKernel, momentsKernel, normalizeCellsKernel, registerKernel, resetKernelRegistry, toTypedArray } from '@normkit/core';
import type { KernelName } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchNorm } from './plugin.js';

// Batch norm runs its kernels through core's kernel registry, where accelerated backends
// (such as @normkit/wasm) plug in. A recording backend that handles float32 calls with the
// TypeScript kernels themselves shows which kernels run, in what order, and that a decline
// falls back to TypeScript.
beforeEach(() => resetKernelRegistry());
afterEach(() => resetKernelRegistry());

/** Registers a float32-only backend for batch norm's four kernels that records each call. */
function recordingBackend(calls: KernelName[]): void {
  const f32 = (data: Float32Array | Float64Array) => data instanceof Float32Array;
  registerKernel({ kernel: 'moments', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('moments'), momentsKernel(call), true) });
  registerKernel({ kernel: 'normalizeCells', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('normalizeCells'), normalizeCellsKernel(call), true) });
  registerKernel({ kernel: 'gradientSums', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('gradientSums'), gradientSumsKernel(call), true) });
  registerKernel({ kernel: 'inputGradient', backend: 'recording', priority: 1, run: (call) => f32(call.x.data) && (calls.push('inputGradient'), inputGradientKernel(call), true) });
}

describe('batch norm on the kernel registry', () => {
  it('sends every kernel call to a registered backend, with the same results as the TypeScript kernels', () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float32');
    const x = randn([4, 3, 5], 1, 'float32');
    const dy = randn([4, 3, 5], 2, 'float32');
    const plain = bn.forward({ x, params, state, mode: 'train' });
    const plainDx = bn.backward({ dy, params, saved: plain.saved }).dx;
    const calls: KernelName[] = [];
    recordingBackend(calls);
    const fast = bn.forward({ x, params, state, mode: 'train' });
    const fastDx = bn.backward({ dy, params, saved: fast.saved }).dx;
    expect(calls).toEqual(['moments', 'normalizeCells', 'gradientSums', 'inputGradient']);
    expect(Array.from(toTypedArray(fast.y))).toEqual(Array.from(toTypedArray(plain.y)));
    expect(Array.from(toTypedArray(fastDx))).toEqual(Array.from(toTypedArray(plainDx)));
    // eval with running statistics computes no statistics and no gradient sums without affine
    calls.length = 0;
    const evalOnly = batchNorm.create({ numFeatures: 3, affine: false });
    const evalInit = evalOnly.init('float32');
    const evalResult = evalOnly.forward({ x, params: {}, state: evalInit.state, mode: 'eval' });
    evalOnly.backward({ dy, params: {}, saved: evalResult.saved });
    expect(calls).toEqual(['normalizeCells', 'inputGradient']);
  });

  it('falls back to the TypeScript kernels when the backend declines (float64 here)', () => {
    const calls: KernelName[] = [];
    recordingBackend(calls);
    const bn = batchNorm.create({ numFeatures: 2 });
    const { params, state } = bn.init('float64');
    const f = bn.forward({ x: randn([5, 2], 3), params, state, mode: 'train' });
    bn.backward({ dy: randn([5, 2], 4), params, saved: f.saved });
    expect(calls).toEqual([]);
    expect(f.y.data).toBeInstanceOf(Float64Array);
  });

  it('never reaches a kernel when validation fails', () => {
    const calls: KernelName[] = [];
    recordingBackend(calls);
    const bn = batchNorm.create({ numFeatures: 2 });
    const { params, state } = bn.init('float32');
    expect(() => bn.forward({ x: randn([1, 2], 1, 'float32'), params, state, mode: 'train' })).toThrow(expect.objectContaining({ code: 'E_DEGENERATE' }));
    expect(() => bn.forward({ x: randn([4, 3], 1, 'float32'), params, state, mode: 'train' })).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    expect(() => bn.forward({ x: randn([4, 2], 1, 'float64'), params, state, mode: 'train' })).toThrow(expect.objectContaining({ code: 'E_DTYPE' }));
    expect(calls).toEqual([]);
  });
});
