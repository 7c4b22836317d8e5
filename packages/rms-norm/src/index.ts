/**
 * `@normkit/rms-norm`: RMS normalization with PyTorch's semantics over the trailing
 * `normalizedShape` axes (no centering, no bias, ε inside the root, default ε the dtype's
 * machine epsilon), float32 or float64, on the normalization engine of `@normkit/core`.
 *
 * - {@link rmsNorm}: the plugin (`rmsNorm.create(options)` → pure `forward` / `backward`).
 * - {@link RMSNorm}: the stateful layer, PyTorch style.
 * - {@link rmsNormPyTorch}: PyTorch's names.
 * - {@link rmsNormFromKeras}: a trained Keras 3 `RMSNormalization` layer as an {@link RMSNorm} ({@link rmsNormKeras}).
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export * from './options.js';
export * from './plugin.js';
export * from './layer.js';
export * from './pytorch.js';
export { rmsNormKeras } from './keras.js';
export { rmsNormFromKeras } from './from-keras.js';
export * from './onnx.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
