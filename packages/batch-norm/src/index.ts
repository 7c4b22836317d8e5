/**
 * `@normkit/batch-norm`: batch normalization with PyTorch's semantics for inputs of any
 * rank ≥ 2, channels-first or channels-last, float32 or float64, with a hand-written
 * backward pass proven against PyTorch and by finite differences.
 *
 * - {@link batchNorm}: the plugin (pure `forward` / `backward`).
 * - {@link BatchNorm}: the stateful layer, PyTorch style.
 *
 * @packageDocumentation
 */
export * from './options.js';
export * from './plugin.js';
export * from './batch-norm.js';
export * from './backend.js';
export * from './kernels/normalize.js';
export * from './kernels/backward.js';
export { VERSION } from './version.js';
