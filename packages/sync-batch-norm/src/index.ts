/**
 * `@normkit/sync-batch-norm`: synchronized batch normalization (PyTorch's `nn.SyncBatchNorm`)
 * for data-parallel training in one Node process, on the normalization engine of
 * `@normkit/core`: each worker thread holds a replica and its share of the batch, and the
 * layer normalizes with the statistics of all shares together, exactly.
 *
 * - {@link syncBatchNorm}: the plugin; {@link SyncBatchNorm}: the stateful layer.
 * - {@link AllReduce}: the collective it needs (a sum over float64 arrays), to plug in a
 *   transport; {@link SharedAllReduceGroup} / {@link connectSharedAllReduce}: the one over
 *   worker threads (`SharedArrayBuffer`, `Atomics`); {@link loopbackAllReduce}: one process.
 * - {@link runWorkers}: starts the workers, aborts the group when one fails, collects results.
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export * from './all-reduce.js';
export * from './shared-all-reduce.js';
export * from './run-workers.js';
export * from './options.js';
export * from './plugin.js';
export * from './layer.js';
export * from './pytorch.js';
export * from './onnx.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
