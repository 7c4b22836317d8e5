import {
  NormkitError,
  arrayTypeOf,
  assertMode,
  assertTensor,
  assertTensorMap,
  defineNormalizer,
  describeValue,
  dtypeOf,
  formatShape,
  full,
  groupMomentsKernel,
  isTensor,
  normalizeAxis,
  ones,
  outputTensor,
  sizeOf,
  tensor,
  zeros,
} from '@normkit/core';
import type { Dtype, Invariant, NormalizerTypes, Shape, Tensor, TensorMap } from '@normkit/core';
import { gradientSumsKernel, inputGradientKernel } from './kernels/backward.js';
import { normalizeKernel } from './kernels/normalize.js';
import { getBatchNormBackend } from './backend.js';
import type { BatchNormBackend } from './backend.js';
import type { BatchNormInputOptions, BatchNormOptions } from './options.js';
import { resolveBatchNormOptions } from './options.js';
import { VERSION } from './version.js';

/**
 * What batch norm's forward keeps for backward: the input by reference and two
 * float64 numbers per channel. Extra memory: 16·C bytes, independent of the batch size
 * (no copy of `x`, no `x̂`). Do not mutate `x` between forward and backward.
 */
export interface BatchNormSaved {
  /** The forward input itself (a reference, not a copy). */
  readonly x: Tensor;
  /** The per-channel mean used to normalize: the batch mean, or the running mean in eval. */
  readonly mean: Float64Array;
  /** The per-channel 1/√(σ² + ε) used to normalize. */
  readonly invStd: Float64Array;
  /** The resolved (non-negative) channel axis. */
  readonly channelAxis: number;
  /** True when batch statistics were used (train mode, or eval without running statistics). */
  readonly usedBatchStats: boolean;
  /** m: the number of values per channel. */
  readonly count: number;
}

/** The type bag of the batch-norm plugin. */
export interface BatchNormTypes extends NormalizerTypes {
  /** See {@link BatchNormInputOptions}. */
  InputOptions: BatchNormInputOptions;
  /** See {@link BatchNormOptions}. */
  Options: BatchNormOptions;
  /** γ and β, each of shape `[numFeatures]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** The running statistics (`[numFeatures]` each) and the 0-d float64 step counter, when `trackRunningStats` is on. */
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  /** See {@link BatchNormSaved}. */
  Saved: BatchNormSaved;
}

/** The output buffer: the caller's `out` (checked), else the backend's memory, else the JS heap. */
function outputFor(backend: BatchNormBackend | null, out: Tensor | undefined, shape: Shape, dtype: Dtype, inputs: readonly Tensor[]): Tensor {
  if (out === undefined && backend?.allocate !== undefined) {
    const pooled = backend.allocate(shape, dtype);
    if (pooled !== null) return pooled;
  }
  return outputTensor(out, shape, dtype, 'out', inputs);
}

/**
 * Checks that `saved` is what a batch-norm forward call with these options returned.
 *
 * @throws NormkitError `E_STATE` otherwise
 */
function checkSaved(saved: unknown, options: BatchNormOptions): BatchNormSaved {
  const fail = (what: string): never => {
    throw new NormkitError('E_STATE', `saved: expected the saved value of a batch-norm forward call with these options, got ${what}`, 'saved');
  };
  if (typeof saved !== 'object' || saved === null) return fail(describeValue(saved));
  const s = saved as Partial<Record<keyof BatchNormSaved, unknown>>;
  if (!isTensor(s.x)) return fail('no input tensor x');
  const channels = options.numFeatures;
  const axis = s.channelAxis;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < 0 || axis >= s.x.shape.length || s.x.shape[axis] !== channels) {
    return fail(`channelAxis ${describeValue(axis)} for an input of shape ${formatShape(s.x.shape)}`);
  }
  for (const name of ['mean', 'invStd'] as const) {
    const v = s[name];
    if (!(v instanceof Float64Array) || v.length !== channels) return fail(`${name} that is not a Float64Array of ${channels} values`);
  }
  if (typeof s.usedBatchStats !== 'boolean' || typeof s.count !== 'number' || s.count !== sizeOf(s.x.shape) / channels) {
    return fail('inconsistent usedBatchStats or count');
  }
  return saved as BatchNormSaved;
}

/**
 * Checks the values of running statistics that shape checks cannot: a step counter that is a
 * non-negative integer and a running variance that is not negative.
 *
 * @param state - the state entries, already checked for names and shapes
 * @throws NormkitError `E_STATE` naming the entry
 */
function checkRunningState(state: Record<string, Tensor>): void {
  const steps = state.numBatchesTracked;
  if (steps !== undefined) {
    const value = steps.data[steps.offset];
    if (!Number.isInteger(value) || value < 0) {
      throw new NormkitError('E_STATE', `state.numBatchesTracked: expected a non-negative integer, got ${describeValue(value)}`, 'state.numBatchesTracked');
    }
  }
  const variance = state.runningVar;
  if (variance !== undefined) {
    const values = readChannels(variance);
    const c = values.findIndex((v) => !(v >= 0));
    if (c !== -1) {
      throw new NormkitError('E_STATE', `state.runningVar: expected non-negative values, got ${describeValue(values[c])} for channel ${c}`, 'state.runningVar');
    }
  }
}

/** Reads a per-channel tensor (any strides) into float64. */
function readChannels(t: Tensor): Float64Array {
  const out = new Float64Array(t.shape[0]);
  const step = t.stride[0];
  for (let c = 0, p = t.offset; c < out.length; c++, p += step) out[c] = t.data[p];
  return out;
}

/**
 * Batch normalization (Ioffe & Szegedy 2015) with PyTorch's semantics, as a normkit plugin.
 *
 * $$y = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}\,\gamma_c + \beta_c$$
 *
 * Train: per-channel batch mean $`\mu_c`$ and **biased** batch variance $`\sigma_c^2`$ over N
 * and every axis but the channel axis; the running statistics are updated with the
 * **unbiased** variance, $`r \leftarrow (1 - \mathrm{momentum})\,r + \mathrm{momentum}\cdot b`$
 * (factor $`1/t`$ at step $`t`$ with `momentum: null`), and `numBatchesTracked += 1`.
 * Eval: the running statistics normalize and nothing changes (with `trackRunningStats:
 * false`, batch statistics are used in eval too).
 *
 * Every error is thrown before anything is computed, so nothing changes.
 *
 * @throws NormkitError from `resolveOptions`: `E_OPTION` for bad options. From `forward`:
 *   `E_SHAPE` (rank < 2, C ≠ numFeatures, misshapen parameters or state, empty input, a bad
 *   `out`), `E_DTYPE` (not a Float32/Float64 ndarray, or an `out` of another dtype),
 *   `E_STATE` (a missing or unexpected parameter or state entry, a `numBatchesTracked` that
 *   is not a non-negative integer), `E_OPTION` (a mode other than `'train'`/`'eval'`, a
 *   channel axis out of range), `E_DEGENERATE` (one value per channel when batch statistics
 *   are needed), `E_NONFINITE` (NaN or ±Infinity in a training batch whose statistics would
 *   enter the running statistics). From `backward`: `E_SHAPE` / `E_DTYPE` for a `dy` that is
 *   not a float tensor of `x`'s shape, or for misshapen parameters; `E_STATE` for a missing or
 *   unexpected parameter, or a `saved` value that does not fit the options.
 *
 * @example
 * ```ts
 * const options = batchNorm.resolveOptions({ numFeatures: 3 });
 * const { params, state } = batchNorm.init(options, 'float64');
 * const { y, state: next, saved } = batchNorm.forward({ x, params, state, mode: 'train' }, options);
 * const { dx, grads } = batchNorm.backward({ dy, params, saved }, options);
 * ```
 */
export const batchNorm = defineNormalizer<BatchNormTypes>({
  meta: {
    name: 'batch-norm',
    version: VERSION,
    description: 'Batch normalization over every axis but the channel axis, with running statistics (PyTorch semantics).',
    formula: 'y = \\frac{x - \\mu_\\mathcal{B}}{\\sqrt{\\sigma^2_\\mathcal{B} + \\epsilon}}\\,\\gamma + \\beta',
  },
  modes: ['train', 'eval'],
  exampleOptions: [
    { numFeatures: 3 },
    { numFeatures: 3, affine: false },
    { numFeatures: 2, momentum: null },
    { numFeatures: 3, channelAxis: -1 },
    { numFeatures: 2, trackRunningStats: false },
  ],

  resolveOptions: resolveBatchNormOptions,

  paramShapes(options) {
    return options.affine ? { weight: [options.numFeatures], bias: [options.numFeatures] } : {};
  },

  stateShapes(options) {
    const c = options.numFeatures;
    return options.trackRunningStats ? { runningMean: [c], runningVar: [c], numBatchesTracked: [] } : {};
  },

  init(options, dtype = 'float32') {
    const c = options.numFeatures;
    const params = options.affine ? { weight: ones([c], dtype), bias: zeros([c], dtype) } : {};
    const state = options.trackRunningStats
      ? { runningMean: zeros([c], dtype), runningVar: ones([c], dtype), numBatchesTracked: zeros([], 'float64') }
      : {};
    return { params, state };
  },

  exampleShapes(options) {
    // (N, C), (N, C, L), (N, C, H, W) with the channels moved to options.channelAxis;
    // ranks that lack that axis are left out.
    const c = options.numFeatures;
    const shapes: number[][] = [];
    for (const base of [[4, 0], [2, 0, 5], [2, 0, 3, 2]]) {
      const rank = base.length;
      if (options.channelAxis < -rank || options.channelAxis >= rank) continue;
      const axis = options.channelAxis < 0 ? options.channelAxis + rank : options.channelAxis;
      const sizes = base.filter((_, k) => k !== 1);
      sizes.splice(axis, 0, c);
      shapes.push(sizes);
    }
    return shapes;
  },

  invariants(options, mode, xShape): readonly Invariant[] {
    const usesBatchStats = mode === 'train' || !options.trackRunningStats;
    if (!usesBatchStats) return [];
    const channelAxis = normalizeAxis(options.channelAxis, xShape.length, 'options.channelAxis');
    const reduceAxes = xShape.map((_, k) => k).filter((k) => k !== channelAxis);
    return [{ kind: 'zero-sum', reduceAxes }];
  },

  validateState(state, options) {
    checkRunningState(assertTensorMap(state, batchNorm.stateShapes(options), 'state'));
  },

  forward({ x, params, state, mode, out }, options) {
    // Validate everything before computing anything.
    const input = assertTensor(x, 'x', { minRank: 2 });
    assertMode(mode, 'batch-norm');
    const rank = input.shape.length;
    const channelAxis = normalizeAxis(options.channelAxis, rank, 'options.channelAxis');
    const channels = options.numFeatures;
    if (input.shape[channelAxis] !== channels) {
      throw new NormkitError(
        'E_SHAPE',
        `x: expected ${channels} channels (numFeatures) on axis ${channelAxis}, got shape ${formatShape(input.shape)}`,
        'x',
      );
    }
    const checkedParams = assertTensorMap(params, batchNorm.paramShapes(options), 'params');
    const checkedState = assertTensorMap(state, batchNorm.stateShapes(options), 'state');
    const weight = checkedParams.weight ?? null;
    const bias = checkedParams.bias ?? null;
    const tracked = options.trackRunningStats;
    const runningMean = checkedState.runningMean ?? null;
    const runningVar = checkedState.runningVar ?? null;
    const numBatchesTracked = checkedState.numBatchesTracked ?? null;
    checkRunningState(checkedState);
    const count = sizeOf(input.shape) / channels;
    const usedBatchStats = mode === 'train' || !tracked;
    if (usedBatchStats && count <= 1) {
      throw new NormkitError(
        'E_DEGENERATE',
        `x: expected more than 1 value per channel when using batch statistics, got input shape ${formatShape(input.shape)}`,
        'x',
      );
    }

    const backend = getBatchNormBackend();
    // Everything `out` must not overlap: the input, the parameters and the state it reads.
    const readTensors = [input, ...Object.values(checkedParams), ...Object.values(checkedState)];
    if (out !== undefined) outputTensor(out, input.shape, dtypeOf(input), 'out', readTensors); // validate before any work

    const mean = new Float64Array(channels);
    const invStd = new Float64Array(channels);
    let batchVariance: Float64Array | null = null;
    if (usedBatchStats) {
      batchVariance = new Float64Array(channels);
      if (backend?.statistics?.(input, channelAxis, mean, batchVariance) !== true) {
        groupMomentsKernel(input.data, input.shape, input.stride, input.offset, [channelAxis], mean, batchVariance);
      }
      if (mode === 'train' && tracked) {
        for (let c = 0; c < channels; c++) {
          if (!Number.isFinite(mean[c]) || !Number.isFinite(batchVariance[c])) {
            throw new NormkitError(
              'E_NONFINITE',
              `x: expected finite values in a training batch (its statistics update the running statistics), got a non-finite mean or variance in channel ${c} (NaN or ±Infinity in the batch, or |x − mean| above ~1e150, where the variance overflows)`,
              'x',
            );
          }
        }
      }
      for (let c = 0; c < channels; c++) invStd[c] = 1 / Math.sqrt(batchVariance[c] + options.eps);
    } else {
      const runMean = readChannels(runningMean as Tensor);
      const runVar = readChannels(runningVar as Tensor);
      for (let c = 0; c < channels; c++) {
        mean[c] = runMean[c];
        invStd[c] = 1 / Math.sqrt(runVar[c] + options.eps);
      }
    }

    // The next running statistics, rounded to their dtype, before anything is written: a value
    // that overflows there (float32 running variance of data around 1e20) is refused.
    let nextState: TensorMap<BatchNormTypes['State']> = state;
    if (mode === 'train' && tracked) {
      const steps = (numBatchesTracked as Tensor).data[(numBatchesTracked as Tensor).offset] + 1;
      const factor = options.momentum === null ? 1 / steps : options.momentum;
      const unbiased = count / (count - 1);
      const oldMean = readChannels(runningMean as Tensor);
      const oldVar = readChannels(runningVar as Tensor);
      const nextMean = new (arrayTypeOf(dtypeOf(runningMean as Tensor)))(channels);
      const nextVar = new (arrayTypeOf(dtypeOf(runningVar as Tensor)))(channels);
      for (let c = 0; c < channels; c++) {
        nextMean[c] = (1 - factor) * oldMean[c] + factor * mean[c];
        nextVar[c] = (1 - factor) * oldVar[c] + factor * (batchVariance as Float64Array)[c] * unbiased;
        if (!Number.isFinite(nextMean[c]) || !Number.isFinite(nextVar[c])) {
          throw new NormkitError(
            'E_NONFINITE',
            `x: expected running statistics that fit their ${dtypeOf(runningVar as Tensor)} state, got a non-finite running mean or variance for channel ${c} (the batch's values are too large)`,
            'x',
          );
        }
      }
      nextState = {
        runningMean: tensor(nextMean, [channels]),
        runningVar: tensor(nextVar, [channels]),
        numBatchesTracked: full([], 'float64', steps),
      };
    }

    const gamma = weight === null ? null : readChannels(weight);
    const scale = new Float64Array(channels);
    const shift = bias === null ? new Float64Array(channels) : readChannels(bias);
    for (let c = 0; c < channels; c++) scale[c] = gamma === null ? invStd[c] : gamma[c] * invStd[c];

    const y = outputFor(backend, out, input.shape, dtypeOf(input), readTensors);
    if (backend?.normalize?.(input, channelAxis, mean, scale, shift, y) !== true) {
      normalizeKernel(input.data, input.shape, input.stride, input.offset, channelAxis, mean, scale, shift, y.data);
    }

    return { y, state: nextState, saved: { x: input, mean, invStd, channelAxis, usedBatchStats, count } };
  },

  backward({ dy, params, saved, out }, options) {
    const { x, mean, invStd, channelAxis, usedBatchStats, count } = checkSaved(saved, options);
    const grad = assertTensor(dy, 'dy', {});
    if (grad.shape.length !== x.shape.length || grad.shape.some((d, k) => d !== x.shape[k])) {
      throw new NormkitError('E_SHAPE', `dy: expected the shape of the forward input ${formatShape(x.shape)}, got ${formatShape(grad.shape)}`, 'dy');
    }
    const channels = options.numFeatures;
    const checkedParams = assertTensorMap(params, batchNorm.paramShapes(options), 'params');
    const weight = checkedParams.weight ?? null;
    const bias = checkedParams.bias ?? null;
    const readTensors = [x, grad, ...Object.values(checkedParams)];
    if (out !== undefined) outputTensor(out, x.shape, dtypeOf(x), 'out', readTensors); // validate before any work
    const gamma = weight === null ? null : readChannels(weight);

    const sumDy = new Float64Array(channels);
    const sumDyCentered = new Float64Array(channels);
    const backend = getBatchNormBackend();
    if (backend?.gradientSums?.(x, grad, channelAxis, mean, sumDy, sumDyCentered) !== true) {
      gradientSumsKernel(x.data, x.shape, x.stride, x.offset, grad.data, grad.stride, grad.offset, channelAxis, mean, sumDy, sumDyCentered);
    }

    const a = new Float64Array(channels);
    const b = new Float64Array(channels);
    const k = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const g = gamma === null ? 1 : gamma[c];
      const s = invStd[c];
      a[c] = g * s;
      if (usedBatchStats) {
        b[c] = (-g * s * s * s * sumDyCentered[c]) / count;
        k[c] = (-g * s * sumDy[c]) / count;
      }
    }
    const dx = outputFor(backend, out, x.shape, dtypeOf(x), readTensors);
    if (backend?.inputGradient?.(x, grad, channelAxis, mean, a, b, k, dx) !== true) {
      inputGradientKernel(x.data, x.shape, x.stride, x.offset, grad.data, grad.stride, grad.offset, channelAxis, mean, a, b, k, dx.data);
    }

    if (weight === null || bias === null) return { dx, grads: {} };
    const dWeight = new (arrayTypeOf(dtypeOf(weight)))(channels);
    const dBias = new (arrayTypeOf(dtypeOf(bias)))(channels);
    for (let c = 0; c < channels; c++) {
      dWeight[c] = sumDyCentered[c] * invStd[c];
      dBias[c] = sumDy[c];
    }
    return { dx, grads: { weight: tensor(dWeight, [channels]), bias: tensor(dBias, [channels]) } };
  },
});
