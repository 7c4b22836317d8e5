/**
 * `@normkit/wasm`: WebAssembly SIMD implementations of the engine kernels of `@normkit/core`,
 * and a tensor pool in wasm memory.
 *
 * - {@link installDefaultWasm} (run by `import '@normkit/wasm/auto'`, which every built-in
 *   normalizer package does): the zero-config default — float32 kernel calls run in wasm with
 *   JS-heap tensors, copied into a private scratch memory per call; {@link defaultWasm} returns it.
 * - {@link enableWasm} / {@link disableWasm}: one call registers float32 SIMD implementations of
 *   the eight engine kernels (moments, normalizeCells, normalizeRows, gradientSums,
 *   inputGradient, backwardRows, and the fused normalizeBatch and backwardCells) in core's
 *   kernel registry, above the default backend, with a resident tensor pool and optionally two
 *   threads; core's TypeScript kernels stay the fallback and the float64 path.
 * - {@link createWasmBackend}: a backend built without installing it, with
 *   `install(priority?)` / `uninstall()` / `disable()`.
 * - {@link WasmPool}: the fixed arena of float32 tensors the kernels read and write in place.
 *
 * @packageDocumentation
 */
export { createWasmBackend, enableWasm, disableWasm, activeWasm, DEFAULT_WASM_PRIORITY } from './enable.js';
export type { EnableWasmOptions, WasmBackend } from './enable.js';
export { WasmPool, DEFAULT_MEMORY_BYTES, POOL_ALIGNMENT, WASM_PAGE_BYTES } from './pool.js';
export type { PoolTensor, PoolStats } from './pool.js';
export { wasmSimdSupported, sharedMemorySupported } from './kernels.js';
export type { WasmCounters } from './backend.js';
export { DEFAULT_THREAD_THRESHOLD } from './threads.js';
export { installDefaultWasm, defaultWasm, DEFAULT_BACKEND_NAME, DEFAULT_BACKEND_PRIORITY, DEFAULT_BACKEND_INITIAL_BYTES } from './default.js';
export type { DefaultWasm } from './default.js';
export { WASM_KERNEL_NAMES } from './engine-kernels.js';
export type { WasmKernelName } from './engine-kernels.js';
