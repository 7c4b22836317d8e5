import { tensor, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { weightNorm } from '@normkit/weight-norm';
import { createWasmBackend } from '@normkit/wasm';
import type { PoolTensor, WasmBackend } from '@normkit/wasm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import { MOMENTUM } from './kernels.js';
import type { Implementation, ImplName, Outputs, PreparedRun } from './types.js';

/** Bytes each wasm backend reserves: room for the largest workload's inputs and outputs. */
const MEMORY_BYTES = 768 * 1024 * 1024;

const backends = new Map<1 | 2, Promise<WasmBackend | false>>();
/** The backends built so far (to uninstall them all before another impl's samples). */
const built: WasmBackend[] = [];

/** One backend per thread count for the whole run, built on first use; installed only while its rows run. */
function backendFor(threads: 1 | 2): Promise<WasmBackend | false> {
  let backend = backends.get(threads);
  if (backend === undefined) {
    backend = createWasmBackend({ memoryBytes: MEMORY_BYTES, threads }).then((b) => {
      if (b !== false) built.push(b);
      return b;
    });
    backends.set(threads, backend);
  }
  return backend;
}

/**
 * Removes every wasm backend of the benchmark from core's kernel registry, so the next
 * calls run the TypeScript kernels (the `normkit` rows call this before their samples).
 */
export function uninstallWasmBackends(): void {
  for (const backend of built) backend.uninstall();
}

/** Frees the wasm backends (their memory and the worker thread) at the end of a run. */
export async function disposeWasmBackends(): Promise<void> {
  for (const pending of backends.values()) {
    const backend = await pending;
    if (backend !== false) await backend.disable();
  }
  backends.clear();
  built.length = 0;
}

/**
 * normkit's public plugin API with `@normkit/wasm`'s SIMD kernels installed in core's kernel
 * registry (only this impl's backend, for its samples).
 *
 * - `resident`: x, dy and the outputs (`out`) live in the wasm pool (copied in once, outside
 *   the timing), so no kernel call copies anything.
 * - `copy`: x, dy and the outputs are ordinary `Float32Array`s, so every kernel call copies
 *   its inputs into wasm memory and its outputs back out.
 */
function wasmImplementation(name: ImplName, threads: 1 | 2, resident: boolean): Implementation {
  return {
    name,
    description: `normkit API with the wasm SIMD kernels in the kernel registry, ${threads} thread${threads === 2 ? 's' : ''}, ${resident ? 'tensors resident in wasm memory' : 'copying inputs in and outputs out on every kernel call'}`,
    unsupported(workload) {
      if (workload.dtype !== 'float32') return 'the wasm kernels are float32 only (float64 runs the TypeScript kernels)';
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
        uninstallWasmBackends();
        backend.install();
      };
      let step: () => Outputs;
      if (workload.op === 'layer-norm-forward' || workload.op === 'layer-norm-forward-backward') {
        const ln = layerNorm.create({ normalizedShape: [p], eps: data.eps });
        const params = { weight: tensor(Float32Array.from(data.gamma), [p]), bias: tensor(Float32Array.from(data.beta), [p]) };
        step = (): Outputs => {
          const forward = ln.forward({ x, params, state: {}, mode: 'train', out: yOut });
          if (dy === null) return { y: forward.y.data };
          const { dx, grads } = ln.backward({ dy, params, saved: forward.saved, out: dxOut });
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        };
      } else if (workload.op === 'weight-norm-forward-backward') {
        const wn = weightNorm.create({ shape, dim: 0 });
        const params = { g: tensor(Float32Array.from(data.gamma), [p, ...shape.slice(1).map(() => 1)]) };
        step = (): Outputs => {
          const forward = wn.forward({ x, params, state: {}, mode: 'train', out: yOut });
          const { dx, grads } = wn.backward({ dy: dy as Tensor, params, saved: forward.saved, out: dxOut });
          return { w: forward.y.data, dv: dx.data, dg: (grads.g as Tensor).data };
        };
      } else {
        const bn = batchNorm.create({ numFeatures: p, eps: data.eps, momentum: MOMENTUM, channelAxis: 1 });
        const params = { weight: tensor(Float32Array.from(data.gamma), [p]), bias: tensor(Float32Array.from(data.beta), [p]) };
        const state = {
          runningMean: tensor(Float32Array.from(data.runningMean), [p]),
          runningVar: tensor(Float32Array.from(data.runningVar), [p]),
          numBatchesTracked: zeros([], 'float64'),
        };
        const mode = workload.op === 'batch-norm-eval-forward' ? 'eval' : 'train';
        step = (): Outputs => {
          const forward = bn.forward({ x, params, state, mode, out: yOut });
          if (dy === null) return { y: forward.y.data };
          const { dx, grads } = bn.backward({ dy, params, saved: forward.saved, out: dxOut });
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
          const before = { ...backend.counters };
          const outputs = Object.fromEntries(Object.entries(step()).map(([key, values]) => [key, Float32Array.from(values)]));
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
