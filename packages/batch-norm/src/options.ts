import { NormkitError, booleanOption, describeValue, numberOption, readOptions } from '@normkit/core';

/** Batch-norm options as a user writes them; every field but `numFeatures` has PyTorch's default. */
export interface BatchNormInputOptions {
  /** C, the number of channels (required). */
  readonly numFeatures: number;
  /** Added to the variance inside the square root. Default `1e-5`. Must be > 0. */
  readonly eps?: number;
  /**
   * PyTorch's convention: `running ← (1 − momentum)·running + momentum·batch`. Default `0.1`.
   * `null` gives the cumulative moving average (factor `1/numBatchesTracked`).
   * Keras/TF.js/ONNX's momentum m corresponds to `1 − m` here.
   */
  readonly momentum?: number | null;
  /** Learn a per-channel `weight` γ (init 1) and `bias` β (init 0). Default `true`. */
  readonly affine?: boolean;
  /** Keep running statistics and use them in eval mode. Default `true`. */
  readonly trackRunningStats?: boolean;
  /**
   * The channel axis: `1` (default, PyTorch's `(N, C, *)`) or `-1` for channels-last
   * data as TF.js and Keras lay it out (NHWC: Keras's `data_format="channels_last"`,
   * PyTorch's `memory_format=torch.channels_last`, what other libraries call
   * `channelsLast`); any axis works, negative counting from the end.
   */
  readonly channelAxis?: number;
  /**
   * Update `runningVar` with the **unbiased** batch variance $`\sigma^2_B\,m/(m-1)`$, as
   * PyTorch does (default `true`), or with `false` the **biased** $`\sigma^2_B`$, as Keras 3,
   * TF.js, Flax and ONNX do. With `momentum: 1 − m_keras`, `eps: 1e-3` and `channelAxis: -1`,
   * `false` makes training match Keras's and TF.js's `BatchNormalization`, running variance
   * included, except that a batch of one value per channel is still refused (`E_DEGENERATE`),
   * where Keras silently outputs β. Normalization in training always uses the biased variance.
   */
  readonly unbiasedRunningVar?: boolean;
}

/** Resolved batch-norm options (see {@link BatchNormInputOptions}). */
export interface BatchNormOptions {
  /** C. */
  readonly numFeatures: number;
  /** ε. */
  readonly eps: number;
  /** The momentum, or `null` for the cumulative moving average. */
  readonly momentum: number | null;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** Whether running statistics exist. */
  readonly trackRunningStats: boolean;
  /** The channel axis as given (may be negative; resolved against the input's rank per call). */
  readonly channelAxis: number;
  /** Whether `runningVar` moves towards the unbiased (`true`) or the biased batch variance. */
  readonly unbiasedRunningVar: boolean;
}

const KNOWN = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis', 'unbiasedRunningVar'];

/**
 * Validates batch-norm options and fills PyTorch's defaults.
 *
 * @param input - the user's options
 * @returns the resolved options (`channelAxis` as given; it is resolved per call)
 * @throws NormkitError `E_OPTION` for a missing or non-integer `numFeatures`, `eps ≤ 0`,
 *   `momentum` outside [0, 1] (and not `null`), non-boolean switches, a non-integer
 *   `channelAxis`, or an unknown key
 * @example
 * ```ts
 * resolveBatchNormOptions({ numFeatures: 64 });
 * // → { numFeatures: 64, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, channelAxis: 1, unbiasedRunningVar: true }
 * ```
 */
export function resolveBatchNormOptions(input?: BatchNormInputOptions): BatchNormOptions {
  const o = readOptions(input, KNOWN, 'batch-norm');
  const numFeatures = numberOption(o, 'numFeatures', undefined, { integer: true, min: 1 }, 'batch-norm');
  const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, 'batch-norm');
  const momentum = o.momentum === null ? null : numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, 'batch-norm');
  const affine = booleanOption(o, 'affine', true, 'batch-norm');
  const trackRunningStats = booleanOption(o, 'trackRunningStats', true, 'batch-norm');
  const channelAxis = o.channelAxis === undefined ? 1 : o.channelAxis; // null is refused below, as for every other option
  if (typeof channelAxis !== 'number' || !Number.isInteger(channelAxis)) {
    throw new NormkitError(
      'E_OPTION',
      `batch-norm options.channelAxis: expected an integer axis (1, or -1 for channels-last), got ${describeValue(channelAxis)}`,
      'options.channelAxis',
    );
  }
  const unbiasedRunningVar = booleanOption(o, 'unbiasedRunningVar', true, 'batch-norm');
  return { numFeatures, eps, momentum, affine, trackRunningStats, channelAxis, unbiasedRunningVar };
}
