import { NormkitError, listKernelRegistrations } from '@normkit/core';
import { WasmKernels } from './backend.js';
import type { WasmCounters } from './backend.js';
import { registerWasmKernels, wasmImplementations } from './engine-kernels.js';
import { instantiateKernels, sharedMemorySupported, wasmSimdSupported } from './kernels.js';
import { DEFAULT_MEMORY_BYTES, WasmPool } from './pool.js';
import { DEFAULT_THREAD_THRESHOLD, startThreads, threadsNeedNode, workerThreads } from './threads.js';

/** The priority {@link WasmBackend.install} registers the kernels with by default (the TypeScript kernels always run last). */
export const DEFAULT_WASM_PRIORITY = 100;

/** Options of {@link createWasmBackend} and {@link enableWasm}. */
export interface EnableWasmOptions {
  /**
   * Bytes of WebAssembly memory reserved up front for the tensor pool (rounded up to 64 KiB
   * pages; never grown). Default 256 MiB. Pool tensors, the inputs and outputs copied in and
   * out for one kernel call, and a small scratch area all come from it.
   */
  readonly memoryBytes?: number;
  /**
   * `2` runs the kernels of large tensors on two threads (this one and a `worker_threads`
   * worker sharing the memory); default `1`. Needs Node with shared WebAssembly memory: the
   * two-thread path is Node-only (in a browser, `threads: 2` throws `E_OPTION`; `threads: 1`
   * and the default backend run there).
   */
  readonly threads?: 1 | 2;
  /**
   * With `threads: 2`: the smallest tensor, in elements, that is split over two threads
   * (default {@link DEFAULT_THREAD_THRESHOLD}, 256 Ki elements = 1 MiB of float32).
   */
  readonly threadThreshold?: number;
}

/**
 * A WebAssembly SIMD backend: its own memory pool, compiled kernels and (with two threads)
 * worker, and its implementations of the engine kernels of `@normkit/core`. Building it
 * ({@link createWasmBackend}) changes nothing; {@link WasmBackend.install} registers its kernels
 * in core's kernel registry, so every normalizer on the engine (batch norm, layer norm, …) runs
 * its float32 row-major kernel calls in wasm.
 */
export interface WasmBackend {
  /** The backend name its kernels are registered under (unique per backend, e.g. `"wasm-simd#1"`). */
  readonly name: string;
  /** Where the wasm kernels' tensors live. */
  readonly pool: WasmPool;
  /** 1 or 2. */
  readonly threads: 1 | 2;
  /** What the kernels did so far (handled / declined calls, copies, split runs). */
  readonly counters: WasmCounters;
  /** Whether its kernels are in core's kernel registry now. */
  readonly installed: boolean;
  /**
   * Registers the eight engine kernels (the six split ones and the fused `normalizeBatch` and
   * `backwardCells`) under {@link WasmBackend.name} (replacing this backend's
   * earlier registration, so a second call changes the priority).
   *
   * @param priority - registry priority (default {@link DEFAULT_WASM_PRIORITY}); higher runs first
   * @throws NormkitError `E_OPTION` for a non-finite priority; `E_STATE` once the backend is disabled
   */
  install(priority?: number): void;
  /** Removes this backend's kernels from the registry (the pool, kernels and worker stay ready). */
  uninstall(): void;
  /**
   * Uninstalls the kernels, frees the kernel scratch and stops the worker (and, when this
   * backend is the one {@link enableWasm} installed, {@link activeWasm} returns `null` again).
   * The pool and its tensors stay readable; the backend cannot be installed again.
   *
   * @returns a promise that settles once the worker (if any) has stopped
   */
  disable(): Promise<void>;
}

let active: WasmBackend | null = null;
let serial = 0;

/**
 * Builds a WebAssembly SIMD backend — its own memory pool, kernels and (with `threads: 2`)
 * worker — **without** installing it: call `backend.install()` to register its kernels in
 * core's kernel registry, or use {@link enableWasm}, which builds and installs one. Several
 * backends can coexist (a benchmark compares one and two threads, installing one at a time);
 * each frees its own resources with `disable()`.
 *
 * @param options - pool size, thread count and split threshold
 * @returns the backend, or `false` when the host has no WebAssembly SIMD
 * @throws NormkitError `E_OPTION` for a bad `memoryBytes`, `threads` or `threadThreshold`, or
 *   `threads: 2` on a host without shared WebAssembly memory or without Node's `worker_threads`
 * @example
 * ```ts
 * const one = await createWasmBackend({ threads: 1 });
 * if (one !== false) {
 *   one.install();        // float32 kernels run in wasm from now on
 *   // …
 *   one.uninstall();      // back to the TypeScript kernels
 *   await one.disable();  // free the scratch (and the worker)
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
  if (shared && workerThreads() === undefined) throw threadsNeedNode();
  if (shared && !sharedMemorySupported()) {
    throw new NormkitError('E_OPTION', 'threads: 2 needs shared WebAssembly memory (SharedArrayBuffer), which this host lacks', 'threads');
  }
  const pool = WasmPool.create(options.memoryBytes ?? DEFAULT_MEMORY_BYTES, shared);
  const exports = await instantiateKernels(pool.memory, shared);
  const workers = shared ? await startThreads(pool, exports, threshold) : null;
  const kernels = new WasmKernels(pool, exports, workers);
  const implementations = wasmImplementations(kernels);
  const name = `wasm-simd#${++serial}`;
  let removeRegistrations: () => void = () => {};
  let disabled = false;

  const uninstall = (): void => {
    removeRegistrations();
    removeRegistrations = () => {};
  };
  const backend: WasmBackend = {
    name,
    pool,
    threads,
    counters: kernels.counters,
    get installed() {
      return listKernelRegistrations().some((r) => r.backend === name);
    },
    install(priority = DEFAULT_WASM_PRIORITY) {
      if (disabled) throw new NormkitError('E_STATE', `install: the wasm backend ${name} has been disabled; create a new one`, 'backend');
      if (!Number.isFinite(priority)) {
        throw new NormkitError('E_OPTION', `priority: expected a finite number, got ${String(priority)}`, 'priority');
      }
      uninstall();
      removeRegistrations = registerWasmKernels(name, priority, implementations);
    },
    uninstall,
    async disable() {
      if (disabled) return;
      disabled = true;
      uninstall();
      if (active === backend) active = null;
      kernels.dispose();
      await workers?.terminate();
    },
  };
  return backend;
}

/**
 * Turns on the WebAssembly SIMD kernels for every float32 normalization in this process: it
 * builds a backend ({@link createWasmBackend}) and installs its kernels in core's kernel
 * registry, disabling a backend enabled before. Forward and backward of every normalizer on
 * the engine (batch norm, layer norm, and the other plugins and layers) then run in wasm when
 * the views are float32 and row-major in a contiguous layout; the TypeScript kernels run
 * otherwise (float64, strided views, a full pool).
 *
 * @param options - pool size (default 256 MiB), thread count (default 1) and split threshold
 * @returns the backend, or `false` when the host has no WebAssembly SIMD (nothing changes:
 *   the TypeScript kernels keep running)
 * @throws NormkitError `E_OPTION` for a bad `memoryBytes`, `threads` or `threadThreshold`, or
 *   `threads: 2` on a host without shared WebAssembly memory
 * @example
 * ```ts
 * const wasm = await enableWasm({ memoryBytes: 64 * 1024 * 1024 });
 * const bn = batchNorm.create({ numFeatures: 64 });
 * const { params, state } = bn.init('float32');
 * const { y } = bn.forward({ x, params, state, mode: 'train' });  // float32: runs in wasm
 * await disableWasm();                                              // back to TypeScript
 * ```
 */
export async function enableWasm(options: EnableWasmOptions = {}): Promise<WasmBackend | false> {
  const backend = await createWasmBackend(options);
  if (backend === false) return false;
  if (active !== null) await active.disable();
  backend.install();
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
