/**
 * `@normkit/weight-norm`: weight normalization `w = g·v/‖v‖` (Salimans & Kingma 2016)
 * as a normkit plugin with a hand-written backward pass, a weight-normalized dense layer
 * with the paper's data-dependent initialization, and conversion of PyTorch state dicts.
 *
 * - {@link weightNorm}: the reparameterization plugin (input `v`, parameter `g`, output `w`).
 * - {@link WeightNorm}, {@link weightNormFromWeight}: PyTorch-style start `g = ‖w‖`.
 * - {@link weightNormLinear}, {@link WeightNormLinear}, {@link initFromBatch}: the dense layer.
 * - {@link toPyTorchStateDict}, {@link fromPyTorchStateDict} and the `linear*` pair:
 *   `weight_g`/`weight_v` and `parametrizations.weight.original0/1` names.
 *
 * @packageDocumentation
 */
export * from './options.js';
export * from './plugin.js';
export * from './weight-norm-linear.js';
export * from './pytorch.js';
export type { RawView } from './kernels/weight-norm.js';
export { rawView, rowMajorView, sliceNorms, sliceSumsOfSquares, scaleSlices, weightNormBackwardKernel } from './kernels/weight-norm.js';
export { linearForwardKernel, linearBackwardKernel, preActivationMoments } from './kernels/linear.js';
export { VERSION } from './version.js';
