import { batchNorm, setBatchNormBackend } from '@normkit/batch-norm';
import { tensor, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { layerNorm, setLayerNormBackend } from '@normkit/layer-norm';
import { createWasmBackend } from '@normkit/wasm';
import type { PoolTensor, WasmBackend } from '@normkit/wasm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import type { Implementation, ImplName, Outputs, PreparedRun } from './types.js';

/** Bytes each wasm backend reserves: room for the largest workload's inputs and outputs. */
const MEMORY_BYTES = 768 * 1024 * 1024;

const backends = new Map<1 | 2, Promise<WasmBackend | false>>();

/** One backend per thread count for the whole run, built on first use and never installed globally. */
function backendFor(threads: 1 | 2): Promise<WasmBackend | false> {
  let backend = backends.get(threads);
  if (backend === undefined) {
    backend = createWasmBackend({ memoryBytes: MEMORY_BYTES, threads });
    backends.set(threads, backend);
  }
  return backend;
}

/** Frees the wasm backends (their memory and the worker thread) at the end of a run. */
export async function disposeWasmBackends(): Promise<void> {
  for (const pending of backends.values()) {
    const backend = await pending;
    if (backend !== false) await backend.disable();
  }
  backends.clear();
  setBatchNormBackend(null);
  setLayerNormBackend(null);
}

const MOMENTUM = 0.1;

/**
 * normkit's public plugin API with `@normkit/wasm`'s SIMD kernels installed.
 *
 * - `resident`: x, dy and the outputs live in the wasm pool (copied in once, outside the timing).
 * - `copy`: x and dy are ordinary `Float32Array`s and the outputs JS-heap buffers, so every
 *   call copies its inputs into wasm memory and its outputs back out.
 */
function wasmImplementation(name: ImplName, threads: 1 | 2, resident: boolean): Implementation {
  return {
    name,
    description: `normkit API with the wasm SIMD backend, ${threads} thread${threads === 2 ? 's' : ''}, ${resident ? 'tensors resident in wasm memory' : 'copying inputs in and outputs out every call'}`,
    unsupported(workload) {
      if (workload.dtype !== 'float32') return 'the wasm kernels are float32 only (float64 runs the TypeScript kernels)';
      if (workload.op === 'weight-norm-forward-backward') return '@normkit/wasm has no weight-norm kernel';
      return null;
    },
    async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
      const backend = await backendFor(threads);
      if (backend === false) throw new Error('this host has no WebAssembly SIMD');
      const { pool } = backend;
      const { shape } = workload;
      const p = parameterCount(workload);
      const owned: PoolTensor[] = [];
      const place = (values: ArrayLike<number> | null): Tensor | null => {
        if (values === null) return null;
        const host = tensor(Float32Array.from(values), shape);
        if (!resident) return host;
        const t = pool.fromTensor(host);
        owned.push(t);
        return t;
      };
      const output = (): Tensor => {
        if (!resident) return zeros(shape, 'float32');
        const t = pool.tensor(shape);
        owned.push(t);
        return t;
      };
      const x = place(data.x) as Tensor;
      const dy = place(data.dy);
      const yOut = output();
      const dxOut = output();
      const install = async (): Promise<void> => {
        setBatchNormBackend(backend.batchNorm);
        setLayerNormBackend(backend.layerNorm);
      };
      let step: () => Outputs;
      if (workload.op === 'layer-norm-forward' || workload.op === 'layer-norm-forward-backward') {
        const options = layerNorm.resolveOptions({ normalizedShape: [p], eps: data.eps });
        const params = { weight: tensor(Float32Array.from(data.gamma), [p]), bias: tensor(Float32Array.from(data.beta), [p]) };
        step = (): Outputs => {
          const forward = layerNorm.forward({ x, params, state: {}, mode: 'train', out: yOut }, options);
          if (dy === null) return { y: forward.y.data };
          const { dx, grads } = layerNorm.backward({ dy, params, saved: forward.saved, out: dxOut }, options);
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        };
      } else {
        const options = batchNorm.resolveOptions({ numFeatures: p, eps: data.eps, momentum: MOMENTUM, channelAxis: 1 });
        const params = { weight: tensor(Float32Array.from(data.gamma), [p]), bias: tensor(Float32Array.from(data.beta), [p]) };
        const state = {
          runningMean: tensor(Float32Array.from(data.runningMean), [p]),
          runningVar: tensor(Float32Array.from(data.runningVar), [p]),
          numBatchesTracked: zeros([], 'float64'),
        };
        const mode = workload.op === 'batch-norm-eval-forward' ? 'eval' : 'train';
        step = (): Outputs => {
          const forward = batchNorm.forward({ x, params, state, mode, out: yOut }, options);
          if (dy === null) return { y: forward.y.data };
          const { dx, grads } = batchNorm.backward({ dy, params, saved: forward.saved, out: dxOut }, options);
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        };
      }
      return {
        beforeSample: install,
        run: () => {
          step();
        },
        outputs: async () => {
          await install();
          return Object.fromEntries(Object.entries(step()).map(([key, values]) => [key, Float32Array.from(values)]));
        },
        dispose: async () => {
          for (const t of owned) pool.dispose(t);
          setBatchNormBackend(null);
          setLayerNormBackend(null);
        },
      };
    },
  };
}

/** Resident wasm, one thread. */
export const normkitWasm = wasmImplementation('normkit-wasm', 1, true);
/** wasm with a copy in and out every call, one thread. */
export const normkitWasmCopy = wasmImplementation('normkit-wasm-copy', 1, false);
/** Resident wasm, two threads (a worker on shared memory, for large tensors). */
export const normkitWasmTwoThreads = wasmImplementation('normkit-wasm-2t', 2, true);
