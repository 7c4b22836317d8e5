import { loadCases, pluginFor, runCase } from '@normkit/conformance';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableWasm, enableWasm } from './index.js';
import type { WasmBackend } from './index.js';

// Every float32 golden case of batch_norm and layer_norm, run through the plugins with the
// wasm kernels in the registry, at the vectors' float32 tolerances (rtol 1e-4 / atol 1e-5; hard
// cases: shape and finiteness). The counters prove the wasm kernels ran every first-order kernel
// call and none fell back to TypeScript; the second-order kernels of the second-order cases
// (doubleBackward: doubleBackwardSums + doubleBackwardInput for batch norm, doubleBackwardRows
// for layer norm) have no wasm implementation and are declined, exactly those calls.
const plugins = [batchNorm, layerNorm];
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
      const before = { handled: backend.counters.handled, declined: backend.counters.declined, threaded: backend.counters.threaded };
      const plugin = pluginFor(c, plugins);
      expect(plugin).toBeDefined();
      const result = runCase(c, plugin!, { dtype: 'float32' });
      expect(result.status, result.message).toBe('pass');
      if (!c.expectError) {
        expect(backend.counters.handled).toBeGreaterThan(before.handled);
        const secondOrderCalls = c.secondOrder === undefined ? 0 : c.layer === 'layer_norm' ? 1 : 2;
        expect(result.secondOrder).toBe(c.secondOrder === undefined ? undefined : 'checked');
        expect(backend.counters.declined).toBe(before.declined + secondOrderCalls);
      }
    });
  }
  it('ran every kernel of both plugins in wasm', () => {
    const { kernels } = backend.counters;
    for (const name of ['moments', 'normalizeCells', 'gradientSums', 'inputGradient', 'normalizeRows', 'backwardRows'] as const) {
      expect(kernels[name], name).toBeGreaterThan(0);
    }
    for (const name of ['doubleBackwardSums', 'doubleBackwardInput', 'doubleBackwardRows'] as const) expect(kernels[name], name).toBe(0);
    if (threads === 2) expect(backend.counters.threaded).toBeGreaterThan(0);
  });
});
