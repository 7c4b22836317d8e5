import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { listKernelRegistrations, normalizeBatch, planNormalization, runKernel, setKernelBackendsEnabled, toTypedArray, viewOf, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_WASM_PRIORITY, activeWasm, createWasmBackend, disableWasm, enableWasm, wasmSimdSupported } from '@normkit/wasm';
import { DEFAULT_BACKEND_NAME } from '@normkit/wasm';
import { WASM_KERNEL_NAMES } from '@normkit/wasm';
import { unregisterBackend } from '@normkit/core';

// These tests compare an explicitly enabled backend with the TypeScript kernels: the zero-config
// default backend that importing a plugin installs is removed for this file (vitest runs each
// test file in its own worker).
unregisterBackend(DEFAULT_BACKEND_NAME);

afterEach(async () => {
  vi.restoreAllMocks();
  setKernelBackendsEnabled(true);
  await disableWasm();
});

function maxDiff(a: Tensor, b: Tensor): number {
  const x = toTypedArray(a);
  const y = toTypedArray(b);
  expect(x.length).toBe(y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

/** The backends registered for each kernel, highest priority first. */
function registered(): Record<string, string[]> {
  return Object.fromEntries(WASM_KERNEL_NAMES.map((k) => [k, listKernelRegistrations(k).map((r) => r.backend)]));
}

describe('dispatch and fallback', () => {
  it('float64 runs the TypeScript kernels, bit for bit, with the backend on', async () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float64');
    const x = randn([5, 3, 4], 1);
    const dy = randn([5, 3, 4], 2);
    const ref = bn.forward({ x, params, state, mode: 'train' });
    const refDx = bn.backward({ dy, params, saved: ref.saved }).dx;
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const f = bn.forward({ x, params, state, mode: 'train' });
    const dx = bn.backward({ dy, params, saved: f.saved }).dx;
    expect(f.y.data).toBeInstanceOf(Float64Array);
    expect(Array.from(toTypedArray(f.y))).toEqual(Array.from(toTypedArray(ref.y)));
    expect(Array.from(toTypedArray(dx))).toEqual(Array.from(toTypedArray(refDx)));
    expect(wasm.counters.handled).toBe(0);
    // normalizeBatch, then its fallback's moments and normalizeCells; backwardCells, then its
    // fallback's gradientSums and inputGradient: every one declined
    expect(wasm.counters.declined).toBe(6);
    expect(wasm.pool.stats().liveTensors).toBe(0);
  });

  it('strided float32 views run the TypeScript kernels and still give the right answer', async () => {
    const ln = layerNorm.create({ normalizedShape: [4] });
    const { params } = ln.init('float32');
    const base = randn([4, 6], 3, 'float32');
    const view = base.transpose(1, 0).hi(4, 4); // (4, 4) with strides [1, 4]: not row-major
    const dy = randn([4, 4], 4, 'float32');
    const ref = ln.forward({ x: view, params, state: {}, mode: 'train' });
    const refBack = ln.backward({ dy, params, saved: ref.saved });
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const f = ln.forward({ x: view, params, state: {}, mode: 'train' });
    const back = ln.backward({ dy, params, saved: f.saved });
    expect(wasm.counters.handled).toBe(0);
    expect(wasm.counters.declined).toBe(4); // normalizeBatch, its fallback's moments and normalizeRows; backwardRows
    expect(maxDiff(f.y, ref.y)).toBe(0);
    expect(maxDiff(back.dx, refBack.dx)).toBe(0);
    expect(maxDiff(back.grads.weight!, refBack.grads.weight!)).toBe(0);
  });

  it('a float64 dy on a float32 x: forward runs in wasm, backward in TypeScript', async () => {
    const bn = batchNorm.create({ numFeatures: 4, channelAxis: -1 });
    const { params, state } = bn.init('float32');
    const x = randn([6, 5, 4], 5, 'float32');
    const dy64 = randn([6, 5, 4], 6, 'float64');
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const f = bn.forward({ x, params, state, mode: 'train' });
    const back = bn.backward({ dy: dy64, params, saved: f.saved });
    expect(wasm.counters.kernels.normalizeBatch).toBe(1);
    expect(wasm.counters.handled).toBe(1);
    expect(wasm.counters.declined).toBe(3); // backwardCells, its fallback's gradientSums and inputGradient
    wasm.uninstall();
    const ref = bn.backward({ dy: dy64, params, saved: f.saved });
    expect(maxDiff(back.dx, ref.dx)).toBe(0);
    expect(maxDiff(back.grads.weight!, ref.grads.weight!)).toBe(0);
  });

  it('a rows layout whose groups are not the leading axes is declined', async () => {
    // parameters on the first axis, statistics per column: rows, but not `leadingRows`
    const plan = planNormalization([6, 5], [1], [0]);
    expect(plan.affine).toMatchObject({ kind: 'rows', leadingRows: false });
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const x = randn([6, 5], 7, 'float32');
    const y = zeros([6, 5], 'float32');
    const call = {
      x: viewOf(x),
      y: viewOf(y),
      plan,
      rows: plan.affine as Extract<typeof plan.affine, { kind: 'rows' }>,
      center: new Float64Array(5),
      invStd: new Float64Array(5).fill(1),
      weight: null,
      bias: null,
    };
    expect(runKernel('normalizeRows', call)).toBe('typescript');
    expect(wasm.counters.declined).toBe(1);
    expect(maxDiff(y, x)).toBe(0); // center 0, invStd 1: y = x
  });

  it('when the fused normalizeBatch declines (rows not on the leading axes), its fallback runs moments in wasm and normalizeRows in TypeScript', async () => {
    const plan = planNormalization([6, 5], [1], [0]);
    expect(plan.affine).toMatchObject({ kind: 'rows', leadingRows: false });
    const x = viewOf(randn([6, 5], 8, 'float32', 1, 2));
    const weight = Float64Array.from([0.5, 1, 1.5, 2, 2.5, 3]);
    const bias = Float64Array.from([1, 0, -1, 0, 1, 0]);
    const ts = zeros([6, 5], 'float32');
    setKernelBackendsEnabled(false);
    const tsStats = normalizeBatch(x, plan, true, 1e-5, weight, bias, viewOf(ts));
    setKernelBackendsEnabled(true);
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const y = zeros([6, 5], 'float32');
    const stats = normalizeBatch(x, plan, true, 1e-5, weight, bias, viewOf(y));
    expect(wasm.counters.kernels).toMatchObject({ normalizeBatch: 0, moments: 1, normalizeRows: 0 });
    expect(wasm.counters.declined).toBe(2); // normalizeBatch, normalizeRows
    // statistics in float64 lanes (1e-11 relative, as in property.test.ts); y from them by the
    // TypeScript kernel, so at most one float32 rounding apart
    for (let g = 0; g < 5; g++) expect(Math.abs(stats.invStd[g] - tsStats.invStd[g])).toBeLessThan(1e-11 * tsStats.invStd[g]);
    for (let i = 0; i < 30; i++) expect(Math.abs(y.data[i] - ts.data[i])).toBeLessThanOrEqual(Math.abs(ts.data[i]) * 2 ** -22);
  });

  it('a caller-provided JS-heap `out` is written by the wasm kernel and copied out', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const bn = batchNorm.create({ numFeatures: 5, channelAxis: -1 });
    const { params, state } = bn.init('float32');
    const x = randn([3, 7, 5], 5, 'float32');
    const out = randn([3, 7, 5], 6, 'float32');
    const f = bn.forward({ x, params, state, mode: 'train', out });
    expect(f.y).toBe(out);
    expect(wasm.counters.kernels.normalizeBatch).toBe(1);
    expect(wasm.counters.copiedOut).toBe(1);
    await disableWasm();
    expect(maxDiff(out, bn.forward({ x, params, state, mode: 'train' }).y)).toBeLessThan(1e-6);
  });

  it('setKernelBackendsEnabled(false) forces the TypeScript kernels with the backend installed', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const ln = layerNorm.create({ normalizedShape: [8] });
    const { params } = ln.init('float32');
    const x = randn([3, 8], 1, 'float32');
    setKernelBackendsEnabled(false);
    const ts = ln.forward({ x, params, state: {}, mode: 'train' }).y;
    expect(wasm.counters.handled + wasm.counters.declined).toBe(0);
    setKernelBackendsEnabled(true);
    const w = ln.forward({ x, params, state: {}, mode: 'train' }).y;
    expect(wasm.counters.handled).toBe(1); // normalizeBatch
    expect(maxDiff(w, ts)).toBeLessThan(2e-6);
  });
});

describe('install, uninstall, enable, disable', () => {
  it('enableWasm registers the eight kernels under the backend name; disableWasm removes them', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    expect(wasm.name).toMatch(/^wasm-simd#\d+$/);
    expect(wasm.installed).toBe(true);
    expect(activeWasm()).toBe(wasm);
    for (const list of Object.values(registered())) expect(list).toEqual([wasm.name]);
    expect(listKernelRegistrations('moments')[0].priority).toBe(DEFAULT_WASM_PRIORITY);
    await disableWasm();
    expect(wasm.installed).toBe(false);
    expect(activeWasm()).toBeNull();
    for (const list of Object.values(registered())) expect(list).toEqual([]);
    expect(() => wasm.install()).toThrow(expect.objectContaining({ code: 'E_STATE' }));
  });

  it('a second enableWasm disables the first', async () => {
    const first = await enableWasm({ memoryBytes: 1 << 20 });
    const second = await enableWasm({ memoryBytes: 1 << 20 });
    if (first === false || second === false) throw new Error('no SIMD');
    expect(first.installed).toBe(false);
    expect(second.installed).toBe(true);
    expect(activeWasm()).toBe(second);
    for (const list of Object.values(registered())) expect(list).toEqual([second.name]);
  });

  it('createWasmBackend installs nothing; two backends take turns by install/uninstall and priority', async () => {
    const a = await createWasmBackend({ memoryBytes: 1 << 20 });
    const b = await createWasmBackend({ memoryBytes: 1 << 20 });
    if (a === false || b === false) throw new Error('no SIMD');
    try {
      expect(a.name).not.toBe(b.name);
      expect(a.installed || b.installed).toBe(false);
      const ln = layerNorm.create({ normalizedShape: [6] });
      const { params } = ln.init('float32');
      const x = randn([2, 6], 1, 'float32');
      const forward = () => ln.forward({ x, params, state: {}, mode: 'train' }).y;
      const ts = forward();
      expect(a.counters.handled + b.counters.handled).toBe(0);
      a.install();
      b.install(DEFAULT_WASM_PRIORITY + 1); // higher priority runs first
      expect(registered().moments).toEqual([b.name, a.name]);
      const yb = forward();
      expect([a.counters.handled, b.counters.handled]).toEqual([0, 1]); // normalizeBatch
      b.uninstall();
      expect(b.installed).toBe(false);
      const ya = forward();
      expect([a.counters.handled, b.counters.handled]).toEqual([1, 1]);
      a.install(-5); // re-installing replaces the earlier registration
      expect(registered().moments).toEqual([a.name]);
      expect(listKernelRegistrations('moments')[0].priority).toBe(-5);
      for (const y of [ya, yb]) expect(maxDiff(y, ts)).toBeLessThan(2e-6);
      expect(() => a.install(Number.NaN)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    } finally {
      await a.disable();
      await b.disable();
    }
    expect(registered().moments).toEqual([]);
  });

  it('without WebAssembly SIMD, enableWasm returns false and the TypeScript kernels keep running', async () => {
    expect(wasmSimdSupported()).toBe(true);
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    expect(wasmSimdSupported()).toBe(false);
    expect(await enableWasm()).toBe(false);
    expect(activeWasm()).toBeNull();
    for (const list of Object.values(registered())) expect(list).toEqual([]);
    const ln = layerNorm.create({ normalizedShape: [3] });
    const y = ln.forward({ x: randn([2, 3], 1, 'float32'), params: ln.init('float32').params, state: {}, mode: 'train' }).y;
    expect(y.data.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('rejects bad options with E_OPTION', async () => {
    await expect(enableWasm({ threads: 3 as 1 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(enableWasm({ memoryBytes: -1 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(enableWasm({ threadThreshold: 1.5 })).rejects.toMatchObject({ code: 'E_OPTION' });
  });
});
