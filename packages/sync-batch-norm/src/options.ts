import { NormkitError, booleanOption, describeValue, numberOption, readOptions } from '@normkit/core';
import type { AllReduce } from './all-reduce.js';
import { loopbackAllReduce } from './all-reduce.js';

/** The plugin name used in option and error messages. */
const PLUGIN = 'sync-batch-norm';

/** The option names sync batch norm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis', 'unbiasedRunningVar', 'allReduce'];

/** Sync-batch-norm options as a user writes them: batch norm's (PyTorch's defaults) and the group to synchronize over. */
export interface SyncBatchNormInputOptions {
  /** C, the number of channels. Required. */
  readonly numFeatures: number;
  /** Added to the variance inside the square root. Default `1e-5`. Must be > 0. */
  readonly eps?: number;
  /** PyTorch's convention, `running ← (1 − momentum)·running + momentum·batch`. Default `0.1`. `null`: cumulative average. */
  readonly momentum?: number | null;
  /** Learn a per-channel `weight` γ (init 1) and `bias` β (init 0). Default `true`. */
  readonly affine?: boolean;
  /** Keep running statistics and use them in eval. Default `true`. */
  readonly trackRunningStats?: boolean;
  /** The channel axis: `1` (default) or `-1` for channels-last; negative counts from the end. */
  readonly channelAxis?: number;
  /**
   * Update `runningVar` with the unbiased variance of the whole (all-reduced) batch, as PyTorch
   * (default `true`), or with `false` the biased one, as Keras 3's
   * `BatchNormalization(synchronized=True)` (see batch norm's option of the same name).
   */
  readonly unbiasedRunningVar?: boolean;
  /**
   * This replica's side of the data-parallel group (PyTorch's `process_group`), e.g.
   * `connectSharedAllReduce(workerData.allReduce)`. Default {@link loopbackAllReduce}: one
   * process, where sync batch norm is batch norm.
   */
  readonly allReduce?: AllReduce;
}

/** Resolved sync-batch-norm options (see {@link SyncBatchNormInputOptions}). */
export interface SyncBatchNormOptions {
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
  /** The channel axis as given (resolved against the input's rank per call). */
  readonly channelAxis: number;
  /** Whether `runningVar` moves towards the unbiased (`true`) or the biased variance of the whole batch. */
  readonly unbiasedRunningVar: boolean;
  /** The group's all-reduce. */
  readonly allReduce: AllReduce;
}

/**
 * Validates sync-batch-norm options and fills batch norm's defaults.
 *
 * @param input - the user's options
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for batch norm's bad options, an `allReduce` that is not an
 *   {@link AllReduce} (integer `rank` in `[0, size)`, functions `sum` and `abort`), or an unknown key
 * @example
 * ```ts
 * resolveSyncBatchNormOptions({ numFeatures: 64, allReduce });
 * // → { numFeatures: 64, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, channelAxis: 1, unbiasedRunningVar: true, allReduce }
 * ```
 */
export function resolveSyncBatchNormOptions(input: SyncBatchNormInputOptions | undefined): SyncBatchNormOptions {
  const o = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  const numFeatures = numberOption(o, 'numFeatures', undefined, { integer: true, min: 1 }, PLUGIN);
  const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, PLUGIN);
  const momentum = o.momentum === null ? null : numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, PLUGIN);
  const affine = booleanOption(o, 'affine', true, PLUGIN);
  const trackRunningStats = booleanOption(o, 'trackRunningStats', true, PLUGIN);
  const channelAxis = o.channelAxis === undefined ? 1 : o.channelAxis; // null is refused below, as for every other option
  if (typeof channelAxis !== 'number' || !Number.isInteger(channelAxis)) {
    throw new NormkitError('E_OPTION', `${PLUGIN} options.channelAxis: expected an integer axis (1, or -1 for channels-last), got ${describeValue(channelAxis)}`, 'options.channelAxis');
  }
  const unbiasedRunningVar = booleanOption(o, 'unbiasedRunningVar', true, PLUGIN);
  const allReduce = (o.allReduce ?? loopbackAllReduce()) as Partial<AllReduce>;
  const ok =
    typeof allReduce === 'object' &&
    allReduce !== null &&
    Number.isInteger(allReduce.size) &&
    (allReduce.size as number) >= 1 &&
    Number.isInteger(allReduce.rank) &&
    (allReduce.rank as number) >= 0 &&
    (allReduce.rank as number) < (allReduce.size as number) &&
    typeof allReduce.sum === 'function' &&
    typeof allReduce.abort === 'function';
  if (!ok) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.allReduce: expected an AllReduce (integer rank in [0, size), sum and abort functions), got ${describeValue(o.allReduce)}`,
      'options.allReduce',
    );
  }
  return Object.freeze({ numFeatures, eps, momentum, affine, trackRunningStats, channelAxis, unbiasedRunningVar, allReduce: allReduce as AllReduce });
}
