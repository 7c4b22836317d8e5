/**
 * `@normkit/wasm/auto`: importing it installs the zero-config WebAssembly SIMD backend
 * ({@link installDefaultWasm}). Every built-in normalizer package imports it, so float32 layers
 * run in wasm with no setup; `NORMKIT_KERNELS=typescript` keeps the TypeScript kernels.
 *
 * @packageDocumentation
 */
import { installDefaultWasm } from './default.js';

installDefaultWasm();

export { installDefaultWasm };
