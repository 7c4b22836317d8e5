/**
 * `@normkit/ghost-batch-norm`: ghost batch normalization (Hoffer, Hubara & Soudry 2017) on
 * the normalization engine of `@normkit/core`: in training, batch norm over virtual batches
 * of `virtualBatchSize` consecutive samples (uneven remainders included); in eval, batch
 * norm with the running statistics, whatever the batch size.
 *
 * - {@link ghostBatchNorm}: the plugin (`ghostBatchNorm.create(options)` → pure `forward` / `backward`).
 * - {@link GhostBatchNorm}: the stateful layer.
 * - {@link ghostBatchNormPyTorch}: the PyTorch names of its (batch norm's) state.
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
