import { loadCases, pluginFor, runCase } from '@normkit/conformance';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKEND_NAME, createWasmBackend } from '@normkit/wasm';
import type { WasmBackend } from '@normkit/wasm';
import { KERNEL_NAMES, unregisterBackend } from '@normkit/core';
import type { KernelName } from '@normkit/core';
import { installKernelSet } from './kernel-sets.js';
import type { KernelSet, KernelSetSwitch } from './kernel-sets.js';

// These tests compare an explicitly enabled backend with the TypeScript kernels: the zero-config
// default backend that importing a plugin installs is removed for this file (vitest runs each
// test file in its own worker).
unregisterBackend(DEFAULT_BACKEND_NAME);

// Every float32 golden case of batch_norm and layer_norm, run through the plugins with the
// wasm kernels in the registry, at the vectors' float32 tolerances (rtol 1e-4 / atol 1e-5; hard
// cases: shape and finiteness). The counters prove the wasm kernels ran every kernel call and
// none fell back to TypeScript. Twice: with every kernel (the plugins' fused `normalizeBatch` and
// `backwardCells`), and with the fused kernels left out, so that core's fallbacks run the split
// kernels (moments, normalizeCells / normalizeRows, gradientSums, inputGradient) in wasm.
const plugins = [batchNorm, layerNorm];
const cases = loadCases().filter((c) => c.layer === 'batch_norm' || c.layer === 'layer_norm');

/** The kernels each set runs over these cases (train and eval batch norm, layer norm on rows). */
const EXPECTED_KERNELS: Record<KernelSet, readonly KernelName[]> = {
  // batch norm train: normalizeBatch + backwardCells; eval: normalizeCells + backwardCells;
  // layer norm: normalizeBatch + backwardRows
  fused: ['normalizeBatch', 'backwardCells', 'normalizeCells', 'backwardRows'],
  split: ['moments', 'normalizeCells', 'gradientSums', 'inputGradient', 'normalizeRows', 'backwardRows'],
};

// On one thread, and on two with every kernel split (threshold 0).
describe.each([
  [1, 'fused'],
  [2, 'fused'],
  [1, 'split'],
  [2, 'split'],
] as const)('float32 golden vectors through the wasm kernels, %i thread(s), %s kernels', (threads, set) => {
  let backend: WasmBackend;
  let kernels: KernelSetSwitch;
  beforeAll(async () => {
    const b = await createWasmBackend({ memoryBytes: 16 * 1024 * 1024, threads, threadThreshold: 0 });
    if (b === false) throw new Error('no wasm SIMD on this host');
    backend = b;
    kernels = installKernelSet(backend, set);
  });
  afterAll(async () => {
    kernels.uninstall();
    await backend.disable();
  });

  it('has the 22 batch_norm and 9 layer_norm cases', () => {
    expect(cases.filter((c) => c.layer === 'batch_norm').length).toBe(22);
    expect(cases.filter((c) => c.layer === 'layer_norm').length).toBe(9);
  });
  for (const c of cases) {
    it(`${c.id} passes in float32 on wasm`, () => {
      const before = { handled: backend.counters.handled, declined: backend.counters.declined, threaded: backend.counters.threaded };
      const plugin = pluginFor(c, plugins);
      expect(plugin).toBeDefined();
      const result = runCase(c, plugin!, { dtype: 'float32' });
      expect(result.status, result.message).toBe('pass');
      if (!c.expectError) {
        expect(backend.counters.handled).toBeGreaterThan(before.handled);
        expect(backend.counters.declined).toBe(before.declined);
      }
    });
  }
  it(`ran the ${set} kernels of both plugins in wasm, and no other`, () => {
    const counts = backend.counters.kernels;
    for (const name of KERNEL_NAMES) {
      if (EXPECTED_KERNELS[set].includes(name)) expect(counts[name], name).toBeGreaterThan(0);
      else expect(counts[name], name).toBe(0);
    }
    if (threads === 2) expect(backend.counters.threaded).toBeGreaterThan(0);
  });
});
