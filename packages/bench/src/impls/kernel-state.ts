import { kernelBackendsEnabled, setKernelBackendsEnabled } from '@normkit/core';
import { createWasmBackend } from '@normkit/wasm';
import type { WasmBackend } from '@normkit/wasm';

/**
 * The state of core's kernel registry each row needs, set before each of its samples (the
 * rows of a workload are timed round-robin, so every row sets the state it needs):
 *
 * - the TypeScript kernels: backends disabled (`setKernelBackendsEnabled(false)`), whatever is registered;
 * - the zero-config default: backends enabled, every explicit backend of the benchmark
 *   uninstalled, so the `wasm-simd-default` backend that `import '@normkit/wasm/auto'` (run
 *   by every normalizer package) registered at priority 10 handles float32 calls;
 * - one explicit backend: backends enabled, that backend installed at priority 100 (above the
 *   default, which stays registered and would only see calls the explicit one declines).
 */

/** Bytes each explicit wasm backend reserves: room for the largest workload's inputs and outputs. */
const MEMORY_BYTES = 768 * 1024 * 1024;

/** Whether backends were enabled when the benchmark started (`NORMKIT_KERNELS=typescript` starts them off). */
const enabledAtStart = kernelBackendsEnabled();

const backends = new Map<1 | 2, Promise<WasmBackend | false>>();
/** The backends built so far (to uninstall them all before another row's samples). */
const built: WasmBackend[] = [];

/**
 * One explicit backend per thread count for the whole run, built on first use (not installed).
 *
 * @param threads - 1, or 2 (a worker on shared memory for large tensors)
 * @returns the backend, or `false` when the host has no WebAssembly SIMD
 */
export function backendFor(threads: 1 | 2): Promise<WasmBackend | false> {
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

/** Removes every explicit wasm backend of the benchmark from core's kernel registry. */
export function uninstallWasmBackends(): void {
  for (const backend of built) backend.uninstall();
}

/** The TypeScript kernels: registered backends (the default one included) may not run. */
export function useTypeScriptKernels(): void {
  setKernelBackendsEnabled(false);
}

/** The zero-config path: backends enabled, no explicit backend installed (the default one runs). */
export function useDefaultBackend(): void {
  setKernelBackendsEnabled(true);
  uninstallWasmBackends();
}

/**
 * One explicit backend: backends enabled, the others uninstalled, this one installed.
 *
 * @param backend - the backend whose kernels the row times
 */
export function useExplicitBackend(backend: WasmBackend): void {
  setKernelBackendsEnabled(true);
  uninstallWasmBackends();
  backend.install();
}

/**
 * Frees the explicit wasm backends (their memory and the worker thread) at the end of a run
 * and leaves the registry as the process started with it (backends enabled unless
 * `NORMKIT_KERNELS=typescript`; the default backend stays registered).
 */
export async function disposeWasmBackends(): Promise<void> {
  for (const pending of backends.values()) {
    const backend = await pending;
    if (backend !== false) await backend.disable();
  }
  backends.clear();
  built.length = 0;
  setKernelBackendsEnabled(enabledAtStart);
}
