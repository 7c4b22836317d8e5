import { NormkitError, booleanOption, describeValue, numberOption, readOptions } from '@normkit/core';

/** The plugin name used in option and error messages. */
const PLUGIN = 'ghost-batch-norm';

/** The option names ghost batch norm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['numFeatures', 'virtualBatchSize', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis'];

/**
 * Ghost-batch-norm options as a user writes them: batch norm's (PyTorch's defaults) plus the
 * virtual batch size. Not batch norm's `unbiasedRunningVar`: tf.keras's `virtual_batch_size`
 * averages each virtual batch's statistics, a different rule, which this plugin does not offer.
 */
export interface GhostBatchNormInputOptions {
  /** C, the number of channels. Required. */
  readonly numFeatures: number;
  /**
   * The number of samples per virtual ("ghost") batch, along the batch axis 0 (Keras's
   * `virtual_batch_size`). Required, a positive integer. A training batch of N samples is
   * cut into ⌊N/V⌋ virtual batches of V consecutive samples and, when V does not divide N, a
   * last one of the N mod V remaining samples. N ≤ V is one virtual batch: batch norm.
   */
  readonly virtualBatchSize: number;
  /** Added to the variance inside the square root. Default `1e-5`. Must be > 0. */
  readonly eps?: number;
  /** PyTorch's convention, `running ← (1 − momentum)·running + momentum·batch`, once per step. Default `0.1`. `null`: cumulative average. */
  readonly momentum?: number | null;
  /** Learn a per-channel `weight` γ (init 1) and `bias` β (init 0). Default `true`. */
  readonly affine?: boolean;
  /** Keep running statistics and use them in eval. Default `true`. */
  readonly trackRunningStats?: boolean;
  /** The channel axis: `1` (default) or `-1` for channels-last. It cannot be the batch axis 0. */
  readonly channelAxis?: number;
}

/** Resolved ghost-batch-norm options (see {@link GhostBatchNormInputOptions}). */
export interface GhostBatchNormOptions {
  /** C. */
  readonly numFeatures: number;
  /** V, samples per virtual batch. */
  readonly virtualBatchSize: number;
  /** ε. */
  readonly eps: number;
  /** The momentum, or `null` for the cumulative moving average. */
  readonly momentum: number | null;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** Whether running statistics exist. */
  readonly trackRunningStats: boolean;
  /** The channel axis as given (resolved against the input's rank per call). */
  readonly channelAxis: number;
}

/**
 * Validates ghost-batch-norm options and fills batch norm's defaults.
 *
 * @param input - the user's options
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for a missing or non-integer `numFeatures` or
 *   `virtualBatchSize`, `eps ≤ 0`, `momentum` outside [0, 1] (and not `null`), non-boolean
 *   switches, a `channelAxis` that is 0 or not an integer, or an unknown key
 * @example
 * ```ts
 * resolveGhostBatchNormOptions({ numFeatures: 64, virtualBatchSize: 32 });
 * // → { numFeatures: 64, virtualBatchSize: 32, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, channelAxis: 1 }
 * ```
 */
export function resolveGhostBatchNormOptions(input: GhostBatchNormInputOptions | undefined): GhostBatchNormOptions {
  const o = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  const numFeatures = numberOption(o, 'numFeatures', undefined, { integer: true, min: 1 }, PLUGIN);
  const virtualBatchSize = numberOption(o, 'virtualBatchSize', undefined, { integer: true, min: 1 }, PLUGIN);
  const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, PLUGIN);
  const momentum = o.momentum === null ? null : numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, PLUGIN);
  const affine = booleanOption(o, 'affine', true, PLUGIN);
  const trackRunningStats = booleanOption(o, 'trackRunningStats', true, PLUGIN);
  const channelAxis = o.channelAxis === undefined ? 1 : o.channelAxis; // null is refused below, as for every other option
  if (typeof channelAxis !== 'number' || !Number.isInteger(channelAxis) || channelAxis === 0) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.channelAxis: expected a non-zero integer axis (1, or -1 for channels-last; axis 0 is the batch), got ${describeValue(channelAxis)}`,
      'options.channelAxis',
    );
  }
  return Object.freeze({ numFeatures, virtualBatchSize, eps, momentum, affine, trackRunningStats, channelAxis });
}
