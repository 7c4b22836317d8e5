/**
 * `@normkit/layer-norm`: layer normalization with PyTorch's semantics over the trailing
 * `normalizedShape` axes, float32 and float64, any rank, with a hand-written backward pass.
 *
 * - {@link layerNorm}: the plugin (pure `forward` / `backward`).
 * - {@link LayerNorm}: the stateful layer for training loops.
 * - {@link resolveLayerNormOptions}: options and defaults.
 * - The kernels over raw typed arrays, for other plugins and benchmarks.
 *
 * @packageDocumentation
 */
export { DEFAULT_EPS, hasBias, hasWeight, resolveLayerNormOptions } from './options.js';
export type { LayerNormInputOptions, LayerNormOptions } from './options.js';
export { LAYER_NORM_FORMULA, layerNorm } from './plugin.js';
export type { LayerNormSaved, LayerNormTypes } from './plugin.js';
export { LayerNorm } from './layer.js';
export { layerNormForwardKernel, rowStatisticsKernel } from './kernels/forward.js';
export { layerNormBackwardKernel } from './kernels/backward.js';
export { VERSION } from './version.js';
export { getLayerNormBackend, setLayerNormBackend } from './backend.js';
export type { LayerNormBackend } from './backend.js';
