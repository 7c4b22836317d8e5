/**
 * `@normkit/core`: the contract every normkit normalizer implements, and what they share.
 *
 * - {@link Normalizer}: the plugin contract (pure `forward`/`backward`, options, init).
 * - {@link Layer}: the stateful wrapper for training loops.
 * - {@link createRegistry}: a name → plugin map.
 * - Tensors: `ndarray` views over `Float32Array`/`Float64Array` ({@link Tensor}) and helpers.
 * - Statistics: stable per-group moments ({@link groupMoments}) and {@link Moments} with an exact merge.
 * - Errors: {@link NormkitError} with a stable {@link NormkitErrorCode}.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './tensor.js';
export * from './layout.js';
export * from './moments.js';
export * from './statistics.js';
export * from './blocked-moments.js';
export * from './normalizer.js';
export * from './options.js';
export * from './json.js';
export * from './plugin.js';
export * from './registry.js';
export * from './layer.js';
export * from './tensor-map.js';
export * from './out.js';
