/**
 * `@normkit/layer-norm`: layer normalization with PyTorch's semantics over the trailing
 * `normalizedShape` axes, float32 and float64, any rank, on the normalization engine of
 * `@normkit/core`, with a hand-written backward pass.
 *
 * - {@link layerNorm}: the plugin (`layerNorm.create(options)` → pure `forward` / `backward`).
 * - {@link LayerNorm}: the stateful layer for training loops.
 * - {@link resolveLayerNormOptions}: options and defaults.
 * - {@link layerNormPyTorch}: PyTorch's names.
 * - {@link layerNormFromKeras}: a trained Keras / TF.js `LayerNormalization` as a layer ({@link layerNormKeras}).
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export { DEFAULT_EPS, hasBias, hasWeight, resolveLayerNormOptions } from './options.js';
export type { LayerNormInputOptions, LayerNormOptions } from './options.js';
export { LAYER_NORM_FORMULA, layerNorm } from './plugin.js';
export type { LayerNormSaved, LayerNormTypes } from './plugin.js';
export { LayerNorm } from './layer.js';
export { layerNormPyTorch } from './pytorch.js';
export { layerNormKeras } from './keras.js';
export { layerNormFromKeras } from './from-keras.js';
export { layerNormOnnx } from './onnx.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
