import { NormkitError, booleanOption, describeValue, numberOption, readOptions } from '@normkit/core';
import { batchRenormSchedule } from './schedule.js';

/** The plugin name used in option and error messages. */
const PLUGIN = 'batch-renorm';

/** The option names batch renorm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['numFeatures', 'eps', 'momentum', 'affine', 'channelAxis', 'rmax', 'dmax', 'runningStd'];

/**
 * A limit of the renorm correction: a constant, or a function of the training step (the
 * layer's `numBatchesTracked` before the step), so that the limit can change between steps
 * while the plugin stays pure. See {@link batchRenormSchedule}.
 */
export type RenormLimit = number | ((step: number) => number);

/**
 * Batch-renorm options as a user writes them. Batch norm's options (PyTorch's defaults)
 * plus the correction limits; running statistics are always kept (the correction needs them).
 */
export interface BatchRenormInputOptions {
  /** C, the number of channels. Required. */
  readonly numFeatures: number;
  /** Added to the variances inside the square roots. Default `1e-5`. Must be > 0. */
  readonly eps?: number;
  /**
   * PyTorch's convention, `running ← (1 − momentum)·running + momentum·batch`. Default `0.1`
   * (the paper used α = 0.01, "relatively fast updates"). `null`: cumulative average.
   */
  readonly momentum?: number | null;
  /** Learn a per-channel `weight` γ (init 1) and `bias` β (init 0). Default `true`. */
  readonly affine?: boolean;
  /** The channel axis: `1` (default) or `-1` for channels-last; negative counts from the end. */
  readonly channelAxis?: number;
  /**
   * $`r_{\max}`$ ≥ 1 (`Infinity` allowed): r is clipped to $`[1/r_{\max}, r_{\max}]`$.
   * Default: the paper's schedule ({@link batchRenormSchedule}), 1 for 5000 steps, then up to 3 at 40k.
   */
  readonly rmax?: RenormLimit;
  /**
   * $`d_{\max}`$ ≥ 0 (`Infinity` allowed): d is clipped to $`[-d_{\max}, d_{\max}]`$.
   * Default: the paper's schedule, 0 for 5000 steps, then up to 5 at 25k.
   */
  readonly dmax?: RenormLimit;
  /**
   * Keep the paper's running σ (Algorithm 1): a moving average of the batch's
   * $`\sigma_B = \sqrt{\sigma^2_B + \epsilon}`$ (biased variance), $`\sigma \leftarrow \sigma + \alpha(\sigma_B - \sigma)`$
   * with α the `momentum` (or 1/(step + 1) for `null`), stored as `runningVar` = σ² − ε so that
   * eval stays batch norm's with σ. Default `false`: batch norm's running variance (the
   * unbiased batch variance averaged), whose σ is larger by about 1/(1 − 3/(4m)) with m values
   * per channel, so r averages below 1 on small batches (see the README).
   */
  readonly runningStd?: boolean;
}

/** Resolved batch-renorm options (see {@link BatchRenormInputOptions}). */
export interface BatchRenormOptions {
  /** C. */
  readonly numFeatures: number;
  /** ε. */
  readonly eps: number;
  /** The momentum, or `null` for the cumulative moving average. */
  readonly momentum: number | null;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** The channel axis as given (resolved against the input's rank per call). */
  readonly channelAxis: number;
  /** The limit of r (a constant or a function of the step). */
  readonly rmax: RenormLimit;
  /** The limit of d (a constant or a function of the step). */
  readonly dmax: RenormLimit;
  /** Whether the running σ is the paper's moving average of σ_B (see {@link BatchRenormInputOptions.runningStd}). */
  readonly runningStd: boolean;
}

/** The paper's schedule, the default limits. */
const PAPER = batchRenormSchedule();

function limitOption(o: Record<string, unknown>, key: 'rmax' | 'dmax', fallback: RenormLimit): RenormLimit {
  const value = key in o ? o[key] : fallback;
  if (typeof value === 'function') return value as (step: number) => number;
  const min = key === 'rmax' ? 1 : 0;
  if (typeof value !== 'number' || !(value >= min)) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.${key}: expected a number ≥ ${min} (Infinity allowed) or a function of the step, got ${describeValue(value)}`,
      `options.${key}`,
    );
  }
  return value;
}

/**
 * The value of a correction limit at a training step, checked.
 *
 * @param limit - the resolved limit
 * @param step - the step (`numBatchesTracked` before it)
 * @param key - `'rmax'` or `'dmax'`, for the message and the lower bound (1 or 0)
 * @returns the limit at that step
 * @throws NormkitError `E_OPTION` when a schedule returns something other than a number ≥ 1 (rmax) or ≥ 0 (dmax)
 */
export function limitAt(limit: RenormLimit, step: number, key: 'rmax' | 'dmax'): number {
  const value = typeof limit === 'function' ? limit(step) : limit;
  const min = key === 'rmax' ? 1 : 0;
  if (typeof value !== 'number' || !(value >= min)) {
    throw new NormkitError('E_OPTION', `${PLUGIN} options.${key}: expected a number ≥ ${min} at step ${step}, got ${describeValue(value)}`, `options.${key}`);
  }
  return value;
}

/**
 * Validates batch-renorm options and fills the defaults (batch norm's, and the paper's schedule).
 *
 * @param input - the user's options
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for a missing or non-integer `numFeatures`, `eps ≤ 0`,
 *   `momentum` outside [0, 1] (and not `null`), a non-boolean `affine`, a non-integer
 *   `channelAxis`, `rmax` < 1 or `dmax` < 0 (and not a function), a non-boolean `runningStd`, or an unknown key (such as
 *   `trackRunningStats`: batch renorm always has running statistics)
 * @example
 * ```ts
 * resolveBatchRenormOptions({ numFeatures: 64, rmax: 3, dmax: 5 });
 * // → { numFeatures: 64, eps: 1e-5, momentum: 0.1, affine: true, channelAxis: 1, rmax: 3, dmax: 5, runningStd: false }
 * ```
 */
export function resolveBatchRenormOptions(input: BatchRenormInputOptions | undefined): BatchRenormOptions {
  const o = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  const numFeatures = numberOption(o, 'numFeatures', undefined, { integer: true, min: 1 }, PLUGIN);
  const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, PLUGIN);
  const momentum = o.momentum === null ? null : numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, PLUGIN);
  const affine = booleanOption(o, 'affine', true, PLUGIN);
  const channelAxis = o.channelAxis === undefined ? 1 : o.channelAxis; // null is refused below, as for every other option
  if (typeof channelAxis !== 'number' || !Number.isInteger(channelAxis)) {
    throw new NormkitError('E_OPTION', `${PLUGIN} options.channelAxis: expected an integer axis (1, or -1 for channels-last), got ${describeValue(channelAxis)}`, 'options.channelAxis');
  }
  const rmax = limitOption(o, 'rmax', PAPER.rmax);
  const dmax = limitOption(o, 'dmax', PAPER.dmax);
  const runningStd = booleanOption(o, 'runningStd', false, PLUGIN);
  return Object.freeze({ numFeatures, eps, momentum, affine, channelAxis, rmax, dmax, runningStd });
}
