import { defaultWasm } from '@normkit/wasm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { isFamily } from '../workloads.js';
import { apiStep, copyOutputs, heapTensors } from './api.js';
import { useDefaultBackend, useTypeScriptKernels } from './kernel-state.js';
import { BARE_KERNELS_SCOPE, prepareKernels } from './kernels.js';
import type { Implementation, PreparedRun } from './types.js';

/**
 * `normkit-ts`: normkit through its public plugin API, as a user calls it — `create(options)`
 * once, then `forward` (and `backward`) per call with full validation, `y` and `dx` written
 * into preallocated `out` buffers — with the **TypeScript kernels forced**
 * (`setKernelBackendsEnabled(false)` before each sample). Every other row is checked against
 * this one.
 */
export const normkitTs: Implementation = {
  name: 'normkit-ts',
  description: 'normkit public plugin API with the TypeScript kernels forced (setKernelBackendsEnabled(false)), preallocated `out` buffers',
  unsupported: () => null,
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    const step = apiStep(workload, data, heapTensors(workload, data));
    return {
      beforeSample: async () => useTypeScriptKernels(),
      run: () => {
        step();
      },
      outputs: async () => {
        useTypeScriptKernels();
        return copyOutputs(step());
      },
      dispose: async () => {},
    };
  },
};

/**
 * `normkit-default`: exactly what a user gets with no setup — the same API calls on JS-heap
 * tensors with the zero-config `wasm-simd-default` backend that every normalizer package
 * installs on import (`import '@normkit/wasm/auto'`): float32 kernel calls run in wasm, their
 * inputs copied in and outputs copied out per (fused) kernel call; float64 calls are declined
 * and run in TypeScript. Before each sample the benchmark's explicit backends are uninstalled
 * and backends enabled. On float32 the check fails the row when the default backend handled
 * no kernel call (it is missing, e.g. `NORMKIT_KERNELS=typescript`).
 */
export const normkitDefault: Implementation = {
  name: 'normkit-default',
  description: "normkit public plugin API with no setup: the zero-config 'wasm-simd-default' backend (float32 in wasm, JS-heap tensors copied per kernel call; float64 in TypeScript)",
  unsupported: () => null,
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    const step = apiStep(workload, data, heapTensors(workload, data));
    const backend = await defaultWasm();
    return {
      beforeSample: async () => useDefaultBackend(),
      run: () => {
        step();
      },
      outputs: async () => {
        useDefaultBackend();
        const handledBefore = backend?.counters.handled ?? 0;
        const declinedBefore = backend?.counters.declined ?? 0;
        const outputs = copyOutputs(step());
        if (workload.dtype === 'float32') {
          if (backend === null) throw new Error('normkit-default: no default wasm backend is installed (NORMKIT_KERNELS=typescript, or no WebAssembly SIMD)');
          const handled = backend.counters.handled - handledBefore;
          const declined = backend.counters.declined - declinedBefore;
          if (handled === 0) throw new Error(`normkit-default: the default wasm backend handled no kernel call (${declined} declined)`);
        }
        return outputs;
      },
      dispose: async () => {},
    };
  },
};

/**
 * normkit's bare engine kernels — core's TypeScript implementations of `moments`,
 * `normalizeCells`, `gradientSums`, `inputGradient`, `normalizeRows` and `backwardRows` —
 * called directly on a plan and buffers made once in `prepare`: the same arithmetic as the
 * plugin API on the TypeScript kernels without validation, option handling, planning,
 * registry dispatch or allocation. `normkit-ts / normkit-kernel` is the API's overhead.
 */
export const normkitKernel: Implementation = {
  name: 'normkit-kernel',
  description: "normkit's bare engine kernels (core's TypeScript moments/normalizeCells/gradientSums/inputGradient, normalizeRows/backwardRows) on a plan and buffers made once",
  unsupported: (workload) => (isFamily(workload) ? BARE_KERNELS_SCOPE : null),
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    return prepareKernels(workload, data);
  },
};
