import { WasmKernels } from './backend.js';
import type { WasmCounters } from './backend.js';
import { registerWasmKernels, wasmImplementations } from './engine-kernels.js';
import { instantiateKernels, instantiateKernelsSync, wasmSimdSupported } from './kernels.js';
import { WASM_PAGE_BYTES, WasmPool } from './pool.js';

/** The backend name the zero-config default registers its kernels under. */
export const DEFAULT_BACKEND_NAME = 'wasm-simd-default';

/**
 * The default backend's priority: below that of a backend installed with `enableWasm` (100, an explicitly enabled
 * one, e.g. with a resident pool or two threads), so the explicit backend runs first.
 */
export const DEFAULT_BACKEND_PRIORITY = 10;

/** The default backend's first memory size: 16 MiB, grown (doubling) when a call needs more. */
export const DEFAULT_BACKEND_INITIAL_BYTES = 16 * 1024 * 1024;

/** What {@link installDefaultWasm} installed. */
export interface DefaultWasm {
  /** {@link DEFAULT_BACKEND_NAME}. */
  readonly name: string;
  /** Whether the memory is shared: always `false` now (copies into a shared memory cost about twice as much); kept for compatibility. */
  readonly shared: boolean;
  /** What the kernels did so far. */
  readonly counters: WasmCounters;
  /** The current size of its scratch memory, in bytes. */
  memoryBytes(): number;
}

interface DefaultState {
  /** `undefined`: not tried yet; `null`: not available on this host (or forced off). */
  backend: DefaultWasm | null | undefined;
  pending: Promise<DefaultWasm | null> | null;
}

const DEFAULT_KEY = Symbol.for('@normkit/wasm:default-backend');

function state(): DefaultState {
  const holder = globalThis as unknown as Record<symbol, DefaultState | undefined>;
  let s = holder[DEFAULT_KEY];
  if (s === undefined) {
    s = { backend: undefined, pending: null };
    holder[DEFAULT_KEY] = s;
  }
  return s;
}

/**
 * Installs the zero-config WebAssembly SIMD backend once per process (`import '@normkit/wasm/auto'`
 * does it; every built-in normalizer package imports that). Float32 kernel calls then run in wasm:
 * JS-heap inputs are copied into a private scratch memory for the call and the outputs copied
 * back — tensors of 2²⁰ elements or more one 128 KiB piece at a time, while the piece is in
 * cache — so tensors stay ordinary JS-heap ndarrays: no enable call, no pool, no dispose.
 * Float64 and strided views keep running the TypeScript kernels.
 *
 * Memory: a non-shared `WebAssembly.Memory` of 16 MiB (copies into a shared one cost about twice
 * as much). Large tensors stream through it, so it only grows when a smaller call's copies, a
 * call's per-channel arrays or a layer norm's rows of ~1 million features do not fit; it then
 * doubles. Each growth detaches its buffer, which
 * makes V8 re-optimize typed-array loops with detach checks (measured: 9–17% slower for a
 * while), so it grows rarely, and never in the benchmark's workloads. The TypeScript kernels are forced with
 * `NORMKIT_KERNELS=typescript` (read at startup; nothing is installed then) or
 * `setKernelBackendsEnabled(false)` from `@normkit/core`.
 *
 * Synchronous: it compiles the inlined module with `new WebAssembly.Module`. Where the host
 * refuses a synchronous compile (some browser main threads), it compiles asynchronously and
 * installs when ready; calls before then run in TypeScript.
 *
 * @returns the backend; `null` when the host has no WebAssembly SIMD, cannot reserve a
 *   WebAssembly memory, or the TypeScript kernels are forced; or `undefined` while an
 *   asynchronous compile is still running
 */
export function installDefaultWasm(): DefaultWasm | null | undefined {
  const s = state();
  if (s.backend !== undefined) return s.backend;
  if (s.pending !== null) return undefined;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.NORMKIT_KERNELS === 'typescript' || !wasmSimdSupported()) {
    s.backend = null;
    return null;
  }
  // Not shared, even where the host has shared memory: copies into and out of a
  // SharedArrayBuffer cost about twice as much (V8 copies them with relaxed atomics; measured
  // 2.7 vs 1.4 ms for 25.7 MB in and out in pieces), and the memory rarely grows now that large
  // tensors stream through it in pieces.
  const shared = false;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: DEFAULT_BACKEND_INITIAL_BYTES / WASM_PAGE_BYTES, maximum: 65536, shared });
  } catch {
    // The host cannot reserve a WebAssembly memory (V8 reserves several GiB of address space
    // per memory, which a virtual-memory limit such as `ulimit -v` refuses): importing a plugin
    // must not fail; the TypeScript kernels run.
    s.backend = null;
    return null;
  }
  let exports: WasmKernels['k'];
  try {
    exports = instantiateKernelsSync(memory, shared);
  } catch {
    // Neither a failed compile nor a failed registration may surface as an unhandled
    // rejection from an import: either leaves the TypeScript kernels running.
    s.pending = instantiateKernels(memory, shared)
      .then((compiled) => install(memory, shared, compiled))
      .then(
        (backend) => (s.backend = backend),
        () => (s.backend = null),
      );
    return undefined;
  }
  try {
    s.backend = install(memory, shared, exports);
  } catch {
    // A registry that refuses a kernel (a copy of @normkit/core older than this package, say):
    // install registered nothing, and the TypeScript kernels run.
    s.backend = null;
  }
  return s.backend;
}

/**
 * The installed default backend: waits for an asynchronous install when one is running.
 *
 * @returns the backend, or `null` when there is none
 */
export async function defaultWasm(): Promise<DefaultWasm | null> {
  const now = installDefaultWasm();
  if (now !== undefined) return now;
  return (await state().pending) ?? null;
}

function install(memory: WebAssembly.Memory, shared: boolean, exports: WasmKernels['k']): DefaultWasm {
  const pool = new WasmPool(memory, true);
  const kernels = new WasmKernels(pool, exports, null);
  // All or nothing: when a registration throws, none stays and install throws.
  registerWasmKernels(DEFAULT_BACKEND_NAME, DEFAULT_BACKEND_PRIORITY, wasmImplementations(kernels));
  return {
    name: DEFAULT_BACKEND_NAME,
    shared,
    counters: kernels.counters,
    memoryBytes: () => memory.buffer.byteLength,
  };
}
