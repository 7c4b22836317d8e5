import { NormkitError } from '@normkit/core';
import { getBatchNormBackend, setBatchNormBackend } from '@normkit/batch-norm';
import type { BatchNormBackend } from '@normkit/batch-norm';
import { getLayerNormBackend, setLayerNormBackend } from '@normkit/layer-norm';
import type { LayerNormBackend } from '@normkit/layer-norm';
import { WasmKernels, batchNormBackend, layerNormBackend } from './backend.js';
import type { WasmCounters } from './backend.js';
import { instantiateKernels, sharedMemorySupported, wasmSimdSupported } from './kernels.js';
import { DEFAULT_MEMORY_BYTES, WasmPool } from './pool.js';
import { DEFAULT_THREAD_THRESHOLD, startThreads } from './threads.js';

/** Options of {@link enableWasm}. */
export interface EnableWasmOptions {
  /**
   * Bytes of WebAssembly memory reserved up front for the tensor pool (rounded up to 64 KiB
   * pages; never grown). Default 256 MiB. Kernel outputs, inputs copied in for one call and
   * a small scratch area all come from it.
   */
  readonly memoryBytes?: number;
  /**
   * `2` runs the kernels of large tensors on two threads (this one and a `worker_threads`
   * worker sharing the memory); default `1`. Needs Node with shared WebAssembly memory.
   */
  readonly threads?: 1 | 2;
  /**
   * With `threads: 2`: the smallest tensor, in elements, that is split over two threads
   * (default {@link DEFAULT_THREAD_THRESHOLD}, 256 Ki elements = 1 MiB of float32).
   */
  readonly threadThreshold?: number;
}

/** What {@link enableWasm} returns: the pool and a switch. */
export interface WasmBackend {
  /** Where the wasm kernels' tensors live. */
  readonly pool: WasmPool;
  /** 1 or 2. */
  readonly threads: 1 | 2;
  /** What the kernels did so far (handled / declined hook calls, copies). */
  readonly counters: WasmCounters;
  /** The installed batch-norm hooks. */
  readonly batchNorm: BatchNormBackend;
  /** The installed layer-norm hooks. */
  readonly layerNorm: LayerNormBackend;
  /**
   * Uninstalls this backend's hooks where they are installed (the TypeScript kernels run
   * again; same as {@link disableWasm} when this backend is the active one), frees its
   * kernel scratch and stops its worker. The pool and its tensors stay readable.
   *
   * @returns a promise that settles once the worker (if any) has stopped
   */
  disable(): Promise<void>;
}

let active: WasmBackend | null = null;

/**
 * Builds a WebAssembly SIMD backend — its own memory pool, kernels and (with `threads: 2`)
 * worker — **without** installing it: pass `backend.batchNorm` / `backend.layerNorm` to
 * `setBatchNormBackend` / `setLayerNormBackend` to route calls through it, or use
 * {@link enableWasm}, which builds and installs one. Several backends can coexist (a
 * benchmark compares one and two threads); each frees its own resources with `disable()`.
 *
 * @param options - pool size, thread count and split threshold
 * @returns the backend, or `false` when the host has no WebAssembly SIMD
 * @throws NormkitError `E_OPTION` for a bad `memoryBytes`, `threads` or `threadThreshold`, or
 *   `threads: 2` on a host without shared WebAssembly memory
 * @throws Error when the compiled kernels (`dist/kernels.wasm`) cannot be read (the message
 *   says to run `npm run build` in `packages/wasm`)
 * @example
 * ```ts
 * const one = await createWasmBackend();
 * if (one !== false) {
 *   setBatchNormBackend(one.batchNorm);   // route batch norm only
 *   // …
 *   await one.disable();
 * }
 * ```
 */
export async function createWasmBackend(options: EnableWasmOptions = {}): Promise<WasmBackend | false> {
  const threads = options.threads ?? 1;
  if (threads !== 1 && threads !== 2) {
    throw new NormkitError('E_OPTION', `threads: expected 1 or 2, got ${String(threads)}`, 'threads');
  }
  const threshold = options.threadThreshold ?? DEFAULT_THREAD_THRESHOLD;
  if (!Number.isInteger(threshold) || threshold < 0) {
    throw new NormkitError('E_OPTION', `threadThreshold: expected a non-negative integer, got ${String(threshold)}`, 'threadThreshold');
  }
  if (!wasmSimdSupported()) return false;
  const shared = threads === 2;
  if (shared && !sharedMemorySupported()) {
    throw new NormkitError('E_OPTION', 'threads: 2 needs shared WebAssembly memory (SharedArrayBuffer), which this host lacks', 'threads');
  }
  const pool = WasmPool.create(options.memoryBytes ?? DEFAULT_MEMORY_BYTES, shared);
  const exports = await instantiateKernels(pool.memory, shared);
  const workers = shared ? await startThreads(pool, exports, threshold) : null;
  const kernels = new WasmKernels(pool, exports, workers);
  const bn = batchNormBackend(kernels);
  const ln = layerNormBackend(kernels);
  const backend: WasmBackend = {
    pool,
    threads,
    counters: kernels.counters,
    batchNorm: bn,
    layerNorm: ln,
    async disable() {
      if (getBatchNormBackend() === bn) setBatchNormBackend(null);
      if (getLayerNormBackend() === ln) setLayerNormBackend(null);
      if (active === backend) active = null;
      kernels.dispose();
      await workers?.terminate();
    },
  };
  return backend;
}

/**
 * Turns on the WebAssembly SIMD kernels for every float32 batch-norm and layer-norm call in
 * this process: forward and backward of the plugins (and of the `BatchNorm` / `LayerNorm`
 * layers) run in wasm when the tensors are float32 and row-major, and the TypeScript kernels
 * run otherwise (float64, strided views, a full pool). A backend enabled before is disabled.
 *
 * @param options - pool size (default 256 MiB), thread count (default 1) and split threshold
 * @returns the backend, or `false` when the host has no WebAssembly SIMD (nothing changes:
 *   the TypeScript kernels keep running)
 * @throws NormkitError `E_OPTION` for a bad `memoryBytes`, `threads` or `threadThreshold`, or
 *   `threads: 2` on a host without shared WebAssembly memory
 * @throws Error when the compiled kernels (`dist/kernels.wasm`) cannot be read
 * @example
 * ```ts
 * const wasm = await enableWasm({ memoryBytes: 64 * 1024 * 1024 });
 * const bn = new BatchNorm({ numFeatures: 64 });      // float32: runs in wasm now
 * const y = bn.forward(x);                            // y lives in wasm.pool when x is float32
 * await disableWasm();                                 // back to the TypeScript kernels
 * ```
 */
export async function enableWasm(options: EnableWasmOptions = {}): Promise<WasmBackend | false> {
  const backend = await createWasmBackend(options);
  if (backend === false) return false;
  if (active !== null) await active.disable();
  setBatchNormBackend(backend.batchNorm);
  setLayerNormBackend(backend.layerNorm);
  active = backend;
  return backend;
}

/**
 * Restores the TypeScript kernels by disabling the backend {@link enableWasm} installed, if
 * any (pool tensors stay readable until disposed or collected).
 *
 * @returns a promise that settles once the backend's worker (if any) has stopped
 */
export async function disableWasm(): Promise<void> {
  if (active !== null) await active.disable();
}

/**
 * The active wasm backend, or `null`.
 *
 * @returns the backend {@link enableWasm} installed last, unless it has been disabled since
 */
export function activeWasm(): WasmBackend | null {
  return active;
}
