import { toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterAll, beforeAll } from 'vitest';
import { disableWasm, enableWasm } from '../src/index.js';
import type { WasmBackend } from '../src/index.js';

/** A test file's explicit wasm backend (see {@link useExplicitBackend}). */
export interface TestBackend {
  /** The backend (available once the file's `beforeAll` has run). */
  readonly backend: WasmBackend;
  /** Runs `fn` with the backend uninstalled (core's TypeScript kernels), then installs it again. */
  onTypeScript<T>(fn: () => T): T;
}

/**
 * Enables an explicit one-thread wasm backend before the calling test file's tests and
 * disables it after them.
 *
 * @param memoryBytes - its memory
 */
export function useExplicitBackend(memoryBytes: number): TestBackend {
  let backend: WasmBackend | null = null;
  beforeAll(async () => {
    const b = await enableWasm({ memoryBytes });
    if (b === false) throw new Error('no wasm SIMD on this host');
    backend = b;
  });
  afterAll(() => disableWasm());
  const get = (): WasmBackend => {
    if (backend === null) throw new Error('the wasm backend is not enabled yet');
    return backend;
  };
  return {
    get backend() {
      return get();
    },
    onTypeScript<T>(fn: () => T): T {
      const b = get();
      b.uninstall();
      try {
        return fn();
      } finally {
        b.install();
      }
    },
  };
}

/** Random parameter values as float64 (γ, β of the engine calls). */
export function vector(n: number, seed: number, mean: number, std: number): Float64Array {
  return Float64Array.from(toTypedArray(randn([n], seed, 'float64', mean, std)));
}
