/**
 * `@normkit/wasm`: WebAssembly SIMD kernels for normkit's batch norm and layer norm, and a
 * tensor pool in wasm memory.
 *
 * - {@link enableWasm} / {@link disableWasm}: one call switches every float32 batch-norm and
 *   layer-norm kernel to wasm (the TypeScript kernels stay the fallback and the float64 path).
 * - {@link WasmPool}: the fixed arena of float32 tensors the kernels read and write in place.
 *
 * @packageDocumentation
 */
export { createWasmBackend, enableWasm, disableWasm, activeWasm } from './enable.js';
export type { EnableWasmOptions, WasmBackend } from './enable.js';
export { WasmPool, DEFAULT_MEMORY_BYTES, POOL_ALIGNMENT, WASM_PAGE_BYTES } from './pool.js';
export type { PoolTensor, PoolStats } from './pool.js';
export { wasmSimdSupported, sharedMemorySupported } from './kernels.js';
export type { WasmCounters } from './backend.js';
export { DEFAULT_THREAD_THRESHOLD } from './threads.js';
