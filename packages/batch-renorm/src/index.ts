/**
 * `@normkit/batch-renorm`: batch renormalization (Ioffe 2017) on the normalization engine of
 * `@normkit/core`: batch norm whose training output is corrected towards the running
 * statistics by per-channel factors r and d, clipped by `rmax` and `dmax` and treated as
 * constants in the backward pass; eval is batch norm's.
 *
 * - {@link batchRenorm}: the plugin (`batchRenorm.create(options)` → pure `forward` / `backward`).
 * - {@link BatchRenorm}: the stateful layer.
 * - {@link batchRenormSchedule}: the paper's ramp of `rmax` and `dmax` over the training steps.
 * - {@link batchRenormPyTorch}: the PyTorch names of its (batch norm's) state.
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export * from './options.js';
export * from './schedule.js';
export * from './plugin.js';
export * from './layer.js';
export * from './pytorch.js';
export * from './onnx.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
