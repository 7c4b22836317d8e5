import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { KERNEL_NAMES, unregisterBackend } from '@normkit/core';
import type { KernelName, Shape } from '@normkit/core';
import { randn, relativeError, scaledError, uniform } from '@normkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKEND_NAME, createWasmBackend } from '@normkit/wasm';
import type { WasmBackend } from '@normkit/wasm';
import { installKernelSet } from './kernel-sets.js';
import type { KernelSet, KernelSetSwitch } from './kernel-sets.js';

// These tests compare an explicitly enabled backend with the TypeScript kernels: the zero-config
// default backend that importing a plugin installs is removed for this file (vitest runs each
// test file in its own worker).
unregisterBackend(DEFAULT_BACKEND_NAME);

// wasm vs TypeScript kernels through the plugins, on random shapes: tails (sizes not a
// multiple of 4 or 8, C % 4 ≠ 0), size-1 axes, (N, C), NCHW, channels last, several layer-norm
// trailing axes, chunk and tile boundaries of the statistics. Outputs agree to float32
// accuracy; the statistics (float64 lanes) to ~1e-11 relative. Every case runs twice: with all
// the backend's kernels (the plugins' fused normalizeBatch and backwardCells run in wasm), and
// with the fused kernels left out (core's fallbacks run the split kernels, in wasm).



/** Handled calls per kernel between two snapshots of the counters (kernels without calls left out). */
function kernelCalls(before: Readonly<Record<KernelName, number>>, after: Readonly<Record<KernelName, number>>): Partial<Record<KernelName, number>> {
  const calls: Partial<Record<KernelName, number>> = {};
  for (const name of KERNEL_NAMES) if (after[name] !== before[name]) calls[name] = after[name] - before[name];
  return calls;
}

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

interface BnCase {
  shape: Shape;
  channelAxis: number;
}

function bnCases(): BnCase[] {
  const rand = uniform(20261125);
  const out: BnCase[] = [
    { shape: [3000, 7], channelAxis: 1 }, // several row tiles, C % 4 = 3
    { shape: [1, 2, 130, 131], channelAxis: 1 }, // planes longer than one 16384-element chunk
    { shape: [2, 5, 3, 1], channelAxis: 3 }, // channels last with C = 1, plus size-1 axes
    { shape: [2, 1, 5], channelAxis: 1 }, // one channel
    { shape: [1, 9, 1, 1, 2], channelAxis: 1 },
  ];
  for (let i = 0; i < 60; i++) {
    const kind = i % 3;
    if (kind === 0) out.push({ shape: [int(rand, 2, 40), int(rand, 1, 19)], channelAxis: 1 });
    else if (kind === 1) out.push({ shape: [int(rand, 1, 4), int(rand, 1, 9), int(rand, 1, 7), int(rand, 1, 9)], channelAxis: 1 });
    else out.push({ shape: [int(rand, 1, 4), int(rand, 1, 6), int(rand, 1, 5), int(rand, 1, 13)], channelAxis: 3 });
  }
  return out.filter((c) => c.shape.reduce((a, b) => a * b, 1) / c.shape[c.channelAxis] > 1);
}

/**
 * The kernel calls of one batch-norm forward + backward. Fused: train is normalizeBatch +
 * backwardCells; eval uses the running statistics (no batch statistics: normalizeCells), and its
 * backward is still backwardCells (dγ, dβ). Split: the same steps as the split kernels; eval's
 * backward still needs gradientSums for dγ and dβ.
 */
const BN_CALLS: Record<KernelSet, Record<'train' | 'eval', Partial<Record<KernelName, number>>>> = {
  fused: {
    train: { normalizeBatch: 1, backwardCells: 1 },
    eval: { normalizeCells: 1, backwardCells: 1 },
  },
  split: {
    train: { moments: 1, normalizeCells: 1, gradientSums: 1, inputGradient: 1 },
    eval: { normalizeCells: 1, gradientSums: 1, inputGradient: 1 },
  },
};

interface LnCase {
  leading: Shape;
  normalized: Shape;
}

function lnCases(): LnCase[] {
  const rand = uniform(7);
  const out: LnCase[] = [
    { leading: [2], normalized: [17003] }, // rows longer than one chunk, F % 8 = 3
    { leading: [3], normalized: [1] }, // one feature
    { leading: [1, 1], normalized: [5, 1] },
    { leading: [], normalized: [6] }, // a single row
  ];
  for (let i = 0; i < 50; i++) {
    const rank = int(rand, 0, 2);
    const leading = Array.from({ length: rank }, () => int(rand, 1, 6));
    const normalized = i % 4 === 0 ? [int(rand, 1, 5), int(rand, 1, 7)] : [int(rand, 1, 70)];
    out.push({ leading, normalized });
  }
  return out;
}

/**
 * The kernel calls of one layer-norm forward + backward, on the rows layout or (one feature per
 * row) on the cells layout.
 */
const LN_CALLS: Record<KernelSet, Record<'rows' | 'cells', Partial<Record<KernelName, number>>>> = {
  fused: {
    rows: { normalizeBatch: 1, backwardRows: 1 },
    cells: { normalizeBatch: 1, backwardCells: 1 },
  },
  split: {
    rows: { moments: 1, normalizeRows: 1, backwardRows: 1 },
    cells: { moments: 1, normalizeCells: 1, gradientSums: 1, inputGradient: 1 },
  },
};

describe.each(['fused', 'split'] as const)('%s kernels', (set) => {
  let backend: WasmBackend;
  let kernels: KernelSetSwitch;
  beforeAll(async () => {
    const b = await createWasmBackend({ memoryBytes: 64 * 1024 * 1024 });
    if (b === false) throw new Error('no wasm SIMD on this host');
    backend = b;
    kernels = installKernelSet(backend, set);
  });
  afterAll(async () => {
    kernels.uninstall();
    await backend.disable();
  });

  /** Runs `fn` once with the wasm kernels installed and once on the TypeScript kernels. */
  function both<T>(fn: () => T): { wasm: T; ts: T } {
    const wasm = fn();
    kernels.uninstall();
    try {
      return { wasm, ts: fn() };
    } finally {
      kernels.install();
    }
  }

  describe('batch norm: wasm agrees with the TypeScript kernels', () => {
    const cases = bnCases();
    it('covers C % 4 tails and size-1 axes', () => {
      expect(cases.some((c) => c.shape[c.channelAxis] % 4 !== 0)).toBe(true);
      expect(cases.some((c) => c.shape.some((d, k) => d === 1 && k !== c.channelAxis))).toBe(true);
    });
    it.each(cases.map((c, i) => [i, c.shape.join('×'), c.channelAxis, c] as const))('case %i: %s, channel axis %i', (i, _s, _a, c) => {
      const channels = c.shape[c.channelAxis];
      const bn = batchNorm.create({ numFeatures: channels, channelAxis: c.channelAxis });
      const weight = randn([channels], 100 + i, 'float32', 1, 0.5);
      const bias = randn([channels], 200 + i, 'float32');
      const { state } = bn.init('float32');
      const x = randn(c.shape, 300 + i, 'float32', 3, 2);
      const dy = randn(c.shape, 400 + i, 'float32');
      for (const mode of ['train', 'eval'] as const) {
        const before = { ...backend.counters.kernels };
        const declined = backend.counters.declined;
        const r = both(() => {
          const f = bn.forward({ x, params: { weight, bias }, state, mode });
          const b = bn.backward({ dy, params: { weight, bias }, saved: f.saved });
          return { f, b };
        });
        expect(kernelCalls(before, backend.counters.kernels)).toEqual(BN_CALLS[set][mode]);
        expect(backend.counters.declined).toBe(declined);
        expect(scaledError(r.wasm.f.y, r.ts.f.y)).toBeLessThan(2e-6);
        // dx = a·dy + b·(x − mean) + k cancels to ~0 with few values per channel: float32
        // rounding is relative to the size of the terms, max |γ·invStd|·max |dy|.
        const invStd = r.ts.f.saved.invStd;
        let terms = 0;
        for (let ch = 0; ch < channels; ch++) terms = Math.max(terms, Math.abs(weight.data[ch] * invStd[ch]));
        terms *= Math.max(...Array.from(dy.data, Math.abs));
        expect(scaledError(r.wasm.b.dx, r.ts.b.dx)).toBeLessThan(2e-6 * (1 + terms));
        expect(scaledError(r.wasm.b.grads.weight!, r.ts.b.grads.weight!)).toBeLessThan(2e-6);
        expect(scaledError(r.wasm.b.grads.bias!, r.ts.b.grads.bias!)).toBeLessThan(2e-6);
        if (mode === 'train') {
          expect(relativeError(r.wasm.f.saved.center, r.ts.f.saved.center)).toBeLessThan(1e-11);
          expect(relativeError(r.wasm.f.saved.invStd, r.ts.f.saved.invStd)).toBeLessThan(1e-10);
          expect(scaledError(r.wasm.f.state.runningVar!, r.ts.f.state.runningVar!)).toBeLessThan(1e-7);
        }
      }
    });
  });

  describe('layer norm: wasm agrees with the TypeScript kernels', () => {
    const cases = lnCases();
    it.each(cases.map((c, i) => [i, [...c.leading, ...c.normalized].join('×'), c.normalized.length, c] as const))(
      'case %i: %s over the last %i axes',
      (i, _s, _n, c) => {
        const shape = [...c.leading, ...c.normalized];
        const ln = layerNorm.create({ normalizedShape: c.normalized });
        const weight = randn(c.normalized, 10 + i, 'float32', 1, 0.5);
        const bias = randn(c.normalized, 20 + i, 'float32');
        const x = randn(shape, 30 + i, 'float32', -2, 3);
        const dy = randn(shape, 40 + i, 'float32');
        const before = { ...backend.counters.kernels };
        const declined = backend.counters.declined;
        const r = both(() => {
          const f = ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train' });
          const b = ln.backward({ dy, params: { weight, bias }, saved: f.saved });
          return { f, b };
        });
        // One feature per row is not the rows layout (a row's only value is its mean): the
        // cells kernels run instead.
        const rowsLayout = c.normalized.reduce((a, b) => a * b, 1) > 1;
        expect(kernelCalls(before, backend.counters.kernels)).toEqual(LN_CALLS[set][rowsLayout ? 'rows' : 'cells']);
        expect(backend.counters.declined).toBe(declined);
        expect(scaledError(r.wasm.f.y, r.ts.f.y)).toBeLessThan(2e-6);
        if (rowsLayout) {
          expect(scaledError(r.wasm.b.dx, r.ts.b.dx)).toBeLessThan(4e-6);
        } else {
          // One value per row: the exact dx is 0, and the cells kernel's a·dy + k cancels in
          // float32 (as in batch norm above): rounding relative to max |γ·invStd|·max |dy|
          // (invStd = 1/√eps ≈ 316 here).
          const invStd = r.ts.f.saved.invStd;
          let terms = 0;
          for (let j = 0; j < invStd.length; j++) for (const g of weight.data) terms = Math.max(terms, Math.abs(g * invStd[j]));
          terms *= Math.max(...Array.from(dy.data, Math.abs));
          expect(scaledError(r.wasm.b.dx, r.ts.b.dx)).toBeLessThan(2e-6 * (1 + terms));
        }
        expect(scaledError(r.wasm.b.grads.weight!, r.ts.b.grads.weight!)).toBeLessThan(2e-6);
        expect(scaledError(r.wasm.b.grads.bias!, r.ts.b.grads.bias!)).toBeLessThan(2e-6);
        expect(relativeError(r.wasm.f.saved.center, r.ts.f.saved.center)).toBeLessThan(1e-11);
        expect(relativeError(r.wasm.f.saved.invStd, r.ts.f.saved.invStd)).toBeLessThan(1e-10);
      },
    );
  });
});
