/**
 * `@normkit/core`: the contract every normkit normalizer implements, the normalization
 * engine they all run on, and what they share.
 *
 * - {@link Normalizer}, {@link defineNormalizer}, {@link BoundNormalizer}: the plugin contract
 *   (`create(options)` binds resolved options; pure `forward`/`backward`).
 * - The engine: {@link planNormalization} describes a normalization by its statistics axes and
 *   parameter axes; {@link batchStatistics}, {@link normalizeForward} and
 *   {@link normalizeBackward} run the kernels through the kernel registry
 *   ({@link registerKernel}), where backends such as `@normkit/wasm` plug in.
 * - {@link checkForward} / {@link checkBackward}: the one validation path of every plugin.
 * - {@link hessianVectorProduct}: exact Hessian–vector products of a loss through a normalizer
 *   with the optional second-order member `doubleBackward` ({@link normalizeDoubleBackward}).
 * - {@link Layer}: the stateful wrapper for training loops; {@link createRegistry}: name → plugin.
 * - Tensors: `ndarray` views over `Float32Array`/`Float64Array` ({@link Tensor}) and helpers;
 *   normkit's own view class {@link StridedTensor}, which builds no code at run time, so it
 *   works under a strict Content-Security-Policy.
 * - Statistics: {@link groupMoments} and {@link Moments} with an exact merge.
 * - Errors: {@link NormkitError} with a stable {@link NormkitErrorCode}.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './tensor.js';
export * from './strided-tensor.js';
export * from './node-builtin.js';
export * from './nested.js';
export * from './format-tensor.js';
export * from './moments.js';
export * from './statistics.js';
export * from './normalizer.js';
export * from './options.js';
export * from './json.js';
export * from './plugin.js';
export * from './registry.js';
export * from './layer.js';
export * from './keras.js';
export { momentumFromKeras, readKerasConfig } from './keras-config.js';
export type { KerasConfig } from './keras-config.js';
export type { KerasTensorLike, KerasWeight } from './keras-weights.js';
export * from './keras-helpers.js';
export type { StateDictNames, StateDictNaming } from './state-dict-names.js';
export * from './layer-types.js';
export * from './tensor-map.js';
export * from './out.js';
export * from './validate.js';
export * from './engine/index.js';
export * from './running.js';
export * from './saved.js';
export * from './example-shapes.js';
export * from './norm-backward.js';
export * from './recalibrate.js';
export * from './hessian.js';
export * from './onnx.js';
export * from './onnx-ops.js';
