/**
 * `@normkit/weight-norm`: weight normalization `w = g·v/‖v‖` (Salimans & Kingma 2016)
 * as a normkit plugin on the normalization engine of `@normkit/core`, with a hand-written
 * backward pass, a weight-normalized dense layer with the paper's data-dependent
 * initialization, and conversion of PyTorch state dicts.
 *
 * - {@link weightNorm}: the reparameterization plugin (input `v`, parameter `g`, output `w`);
 *   `weightNorm.create(options)` → pure `forward` / `backward`.
 * - {@link WeightNorm}, {@link weightNormFromWeight}: PyTorch-style start `g = ‖w‖`.
 * - {@link weightNormLinear}, {@link WeightNormLinear}, {@link initFromBatch}: the dense layer.
 * - {@link weightNormPyTorch}: PyTorch's names; {@link toPyTorchStateDict},
 *   {@link fromPyTorchStateDict} and the `linear*` pair: `weight_g`/`weight_v` and
 *   `parametrizations.weight.original0/1` state dicts.
 *
 * @packageDocumentation
 */
// Float32 calls run the WebAssembly SIMD kernels by default (NORMKIT_KERNELS=typescript opts out).
import '@normkit/wasm/auto';
export { WEIGHT_NORM_NAME, epsOption, gInitOption, gShapeOf, normAxesOf, resolveWeightNormOptions, sliceCountOf } from './options.js';
export type { GInit, WeightNormInputOptions, WeightNormOptions } from './options.js';
export { directionNorms, weightNorm } from './plugin.js';
export type { WeightNormSaved, WeightNormTypes } from './plugin.js';
export { WeightNorm, weightNormFromWeight } from './layer.js';
export type { WeightNormFromWeightOptions, WeightNormLayerInit } from './layer.js';
export { fromPyTorchStateDict, toPyTorchStateDict, weightNormPyTorch } from './pytorch.js';
export { weightNormOnnx } from './onnx.js';
export type { FromPyTorchOptions, ToPyTorchOptions } from './pytorch.js';
export { pytorchKeys } from './state-dict.js';
export type { LoadedFromPyTorch, PyTorchKeys, PyTorchLoadOptions, PyTorchNaming, PyTorchStateDict, PyTorchStyle } from './state-dict.js';
export { WEIGHT_NORM_LINEAR_NAME, resolveWeightNormLinearOptions } from './linear/options.js';
export type { WeightNormLinearInputOptions, WeightNormLinearOptions } from './linear/options.js';
export { weightNormLinear } from './linear/plugin.js';
export type { WeightNormLinearSaved, WeightNormLinearTypes } from './linear/plugin.js';
export { materializeLinearWeight } from './linear/weight.js';
export type { WeightNormLinearParams } from './linear/weight.js';
export { initFromBatch } from './linear/init.js';
export { WeightNormLinear } from './linear/layer.js';
export { linearFromPyTorchStateDict, linearToPyTorchStateDict, weightNormLinearPyTorch } from './linear/pytorch.js';
export { weightNormLinearOnnx } from './linear/onnx.js';
export type { LinearFromPyTorchOptions } from './linear/pytorch.js';
export type { SliceStatistics } from './direction.js';
export { VERSION } from './version.js';
// The tensor helpers a program needs, from @normkit/core, so that installing this one package is enough.
export { NormkitError, dtypeOf, formatTensor, fromArray, isNormkitError, ones, tensor, toArray, toDtype, zeros } from '@normkit/core';
export type { Dtype, NestedArray, NestedNumbers, Tensor } from '@normkit/core';
