import { loadCases, runCase } from '@normkit/conformance';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableWasm, enableWasm } from './index.js';
import type { WasmBackend } from './index.js';

// Every float32 golden case of batch_norm and layer_norm, run through the plugins with the
// wasm backend on, at the vectors' float32 tolerances (rtol 1e-4 / atol 1e-5; hard cases:
// shape and finiteness). The counters prove the wasm kernels ran and nothing fell back.
const cases = loadCases().filter((c) => c.layer === 'batch_norm' || c.layer === 'layer_norm');

// Once on one thread, once on two with every kernel split (threshold 0).
describe.each([1, 2] as const)('float32 golden vectors through the wasm kernels, %i thread(s)', (threads) => {
  let backend: WasmBackend;
  beforeAll(async () => {
    const b = await enableWasm({ memoryBytes: 16 * 1024 * 1024, threads, threadThreshold: 0 });
    if (b === false) throw new Error('no wasm SIMD on this host');
    backend = b;
  });
  afterAll(() => disableWasm());

  it('has the 22 batch_norm and 9 layer_norm cases', () => {
    expect(cases.filter((c) => c.layer === 'batch_norm').length).toBe(22);
    expect(cases.filter((c) => c.layer === 'layer_norm').length).toBe(9);
  });
  for (const c of cases) {
    it(`${c.id} passes in float32 on wasm`, () => {
      const before = { ...backend.counters };
      const plugin = c.layer === 'batch_norm' ? batchNorm : layerNorm;
      const result = runCase(c, plugin, { dtype: 'float32' });
      expect(result.status, result.message).toBe('pass');
      if (!c.expectError) {
        expect(backend.counters.handled).toBeGreaterThan(before.handled);
        expect(backend.counters.declined).toBe(before.declined);
      }
    });
  }
});
