/**
 * `@normkit/batch-norm`: batch normalization with PyTorch's semantics for inputs of any
 * rank ≥ 2, channels-first or channels-last, float32 or float64, on the normalization engine
 * of `@normkit/core`, with a hand-written backward pass proven against PyTorch and by finite
 * differences.
 *
 * - {@link batchNorm}: the plugin (`batchNorm.create(options)` → pure `forward` / `backward`).
 * - {@link BatchNorm}: the stateful layer, PyTorch style.
 * - {@link batchNormPyTorch}: PyTorch's names for its state and test vectors.
 * - {@link batchNormFromKeras}: a trained Keras / TF.js `BatchNormalization` as a layer ({@link batchNormKeras}).
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export * from './options.js';
export * from './plugin.js';
export * from './layer.js';
export * from './pytorch.js';
export * from './keras.js';
export * from './from-keras.js';
export * from './onnx.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
