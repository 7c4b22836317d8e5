/**
 * `@normkit/instance-norm`: instance normalization with PyTorch's semantics (statistics per
 * sample and channel over the spatial axes, optional affine and running statistics),
 * channels-first or channels-last, float32 or float64, on the normalization engine of
 * `@normkit/core`.
 *
 * - {@link instanceNorm}: the plugin (`instanceNorm.create(options)` → pure `forward` / `backward`).
 * - {@link InstanceNorm}: the stateful layer, PyTorch style.
 * - {@link instanceNormPyTorch}: PyTorch's names.
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export * from './options.js';
export * from './plugin.js';
export * from './layer.js';
export * from './pytorch.js';
export * from './onnx.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
