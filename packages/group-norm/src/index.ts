/**
 * `@normkit/group-norm`: group normalization with PyTorch's semantics (statistics per sample
 * and group of channels, per-channel affine), channels-first or channels-last, float32 or
 * float64, on the normalization engine of `@normkit/core`.
 *
 * - {@link groupNorm}: the plugin (`groupNorm.create(options)` → pure `forward` / `backward`).
 * - {@link GroupNorm}: the stateful layer, PyTorch style.
 * - {@link groupNormPyTorch}: PyTorch's names.
 * - {@link groupNormFromKeras}: a trained Keras `GroupNormalization` as a layer ({@link groupNormKeras}).
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
