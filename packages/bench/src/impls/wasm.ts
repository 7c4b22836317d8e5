import { tensor } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import type { PoolTensor } from '@normkit/wasm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { apiStep, copyOutputs } from './api.js';
import { backendFor, useExplicitBackend } from './kernel-state.js';
import type { Implementation, ImplName, PreparedRun } from './types.js';

export { disposeWasmBackends, uninstallWasmBackends } from './kernel-state.js';

/**
 * normkit's public plugin API with an **explicit** `@normkit/wasm` backend
 * (`createWasmBackend` + `install()`, priority 100, above the zero-config default) installed
 * in core's kernel registry for this row's samples only.
 *
 * - `resident`: x, dy and the outputs (`out`) live in the backend's wasm pool (copied in once,
 *   outside the timing), so no kernel call copies anything.
 * - `copy`: x, dy and the outputs are ordinary `Float32Array`s, so every kernel call copies
 *   its inputs into wasm memory and its outputs back out.
 *
 * The check fails the row when a kernel call was declined (ran in TypeScript or in the
 * default backend) or, resident, when a tensor was copied.
 */
function wasmImplementation(name: ImplName, threads: 1 | 2, resident: boolean): Implementation {
  return {
    name,
    description: `normkit API with an explicit wasm SIMD backend (priority 100), ${threads} thread${threads === 2 ? 's' : ''}, ${resident ? 'tensors resident in wasm memory' : 'copying inputs in and outputs out on every kernel call'}`,
    unsupported(workload) {
      if (workload.dtype !== 'float32') return 'the wasm kernels are float32 only (float64 runs the TypeScript kernels)';
      return null;
    },
    async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
      const backend = await backendFor(threads);
      if (backend === false) throw new Error('this host has no WebAssembly SIMD');
      const { pool } = backend;
      const { shape } = workload;
      const owned: PoolTensor[] = [];
      const place = (values: ArrayLike<number>): Tensor => {
        const host = tensor(Float32Array.from(values), shape);
        if (!resident) return host;
        const t = pool.fromTensor(host);
        owned.push(t);
        return t;
      };
      const output = (): Tensor => {
        if (!resident) return tensor(new Float32Array(data.x.length), shape);
        const t = pool.tensor(shape);
        owned.push(t);
        return t;
      };
      const step = apiStep(workload, data, { x: place(data.x), dy: data.dy === null ? null : place(data.dy), yOut: output(), dxOut: output() });
      const install = async (): Promise<void> => useExplicitBackend(backend);
      return {
        beforeSample: install,
        run: () => {
          step();
        },
        outputs: async () => {
          await install();
          const before = { ...backend.counters };
          const outputs = copyOutputs(step());
          // The row must time the wasm kernels: every kernel call handled, and (resident) nothing copied.
          const { handled, declined, copiedIn, copiedOut } = backend.counters;
          if (handled === before.handled || declined !== before.declined) {
            throw new Error(`${name}: the wasm kernels handled ${handled - before.handled} and declined ${declined - before.declined} kernel calls`);
          }
          if (resident && (copiedIn !== before.copiedIn || copiedOut !== before.copiedOut)) {
            throw new Error(`${name}: resident tensors were copied (${copiedIn - before.copiedIn} in, ${copiedOut - before.copiedOut} out)`);
          }
          return outputs;
        },
        dispose: async () => {
          for (const t of owned) pool.dispose(t);
          backend.uninstall();
        },
      };
    },
  };
}

/** Resident wasm, one thread. */
export const normkitWasm = wasmImplementation('normkit-wasm', 1, true);
/** wasm with a copy in and out on every kernel call, one thread. */
export const normkitWasmCopy = wasmImplementation('normkit-wasm-copy', 1, false);
/** Resident wasm, two threads (a worker on shared memory, for large tensors). */
export const normkitWasmTwoThreads = wasmImplementation('normkit-wasm-2t', 2, true);
