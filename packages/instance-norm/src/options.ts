import { NormkitError, booleanOption, describeValue, numberOption, readOptions } from '@normkit/core';

/** The plugin name used in option and error messages. */
const PLUGIN = 'instance-norm';

/** The option names instance norm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis', 'spatialDims'];

/**
 * Instance-norm options as a user writes them, named as PyTorch's
 * `nn.InstanceNorm{1,2,3}d(num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False)`.
 */
export interface InstanceNormInputOptions {
  /** C, the number of channels. Required. */
  readonly numFeatures: number;
  /** Added to the variance inside the square root; must be > 0. Default `1e-5`. */
  readonly eps?: number;
  /**
   * PyTorch's convention, `running ← (1 − momentum)·running + momentum·batch`, used only with
   * `trackRunningStats`. Default `0.1`. (`null`, batch norm's cumulative average, is not
   * supported: PyTorch's instance norm has no such mode.)
   */
  readonly momentum?: number;
  /** Learn a per-channel `weight` γ (ones) and `bias` β (zeros). Default `false`, as PyTorch. */
  readonly affine?: boolean;
  /** Keep running statistics, updated in training and used in eval. Default `false`, as PyTorch. */
  readonly trackRunningStats?: boolean;
  /** The channel axis: `1` (default, `(N, C, *)`) or `-1` for channels-last `(N, *, C)`. Axis 0 is the batch. */
  readonly channelAxis?: number;
  /**
   * The number of spatial axes, as PyTorch's class names it: `1` for `InstanceNorm1d`, `2` for
   * `InstanceNorm2d`, `3` for `InstanceNorm3d`. With it, inputs must have `spatialDims + 2` axes
   * (batched, `(N, C, *)`) or `spatialDims + 1` (unbatched, `(C, *)`, normalized as a batch of
   * one sample, as PyTorch does since 1.11); `channelAxis` counts the batch axis either way.
   * Default: none, any input `(N, C, *)` of rank ≥ 3, always batched.
   */
  readonly spatialDims?: 1 | 2 | 3;
}

/** Resolved instance-norm options (see {@link InstanceNormInputOptions}). */
export interface InstanceNormOptions {
  /** C. */
  readonly numFeatures: number;
  /** ε. */
  readonly eps: number;
  /** The momentum. */
  readonly momentum: number;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** Whether running statistics exist. */
  readonly trackRunningStats: boolean;
  /** The channel axis as given (resolved per call against the rank of the batched input: an unbatched one counts its missing batch axis). */
  readonly channelAxis: number;
  /** The number of spatial axes (1, 2 or 3), or `null` for any (batched inputs only). */
  readonly spatialDims: 1 | 2 | 3 | null;
}

/**
 * Validates instance-norm options and fills PyTorch's defaults.
 *
 * @param input - the user's options
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for a missing or non-integer `numFeatures`, `eps ≤ 0`,
 *   `momentum` outside [0, 1] (or `null`), non-boolean switches, a `channelAxis` that is 0 or not
 *   an integer, a `spatialDims` other than 1, 2 or 3 (or a `channelAxis` outside the input of
 *   rank `spatialDims + 2`, or its batch axis), or an unknown key
 * @example
 * ```ts
 * resolveInstanceNormOptions({ numFeatures: 64 });
 * // → { numFeatures: 64, eps: 1e-5, momentum: 0.1, affine: false, trackRunningStats: false, channelAxis: 1, spatialDims: null }
 * ```
 */
export function resolveInstanceNormOptions(input: InstanceNormInputOptions | undefined): InstanceNormOptions {
  const o = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  const numFeatures = numberOption(o, 'numFeatures', undefined, { integer: true, min: 1 }, PLUGIN);
  const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, PLUGIN);
  if (o.momentum === null) {
    throw new NormkitError('E_OPTION', `${PLUGIN} options.momentum: expected a finite number in [0, 1] (instance norm has no cumulative average), got null`, 'options.momentum');
  }
  const momentum = numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, PLUGIN);
  const affine = booleanOption(o, 'affine', false, PLUGIN);
  const trackRunningStats = booleanOption(o, 'trackRunningStats', false, PLUGIN);
  const channelAxis = o.channelAxis === undefined ? 1 : o.channelAxis; // null is refused below, as for every other option
  if (typeof channelAxis !== 'number' || !Number.isInteger(channelAxis) || channelAxis === 0) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.channelAxis: expected a non-zero integer axis (1, or -1 for channels-last; axis 0 is the batch), got ${describeValue(channelAxis)}`,
      'options.channelAxis',
    );
  }
  const spatialDims = o.spatialDims ?? null;
  if (spatialDims !== null && spatialDims !== 1 && spatialDims !== 2 && spatialDims !== 3) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.spatialDims: expected 1, 2 or 3 (PyTorch's InstanceNorm1d, 2d, 3d), got ${describeValue(spatialDims)}`,
      'options.spatialDims',
    );
  }
  if (spatialDims !== null) {
    // The batched rank is fixed: the channel axis must be one of its axes other than the batch axis 0.
    const rank = spatialDims + 2;
    if (channelAxis >= rank || channelAxis < -(rank - 1)) {
      throw new NormkitError(
        'E_OPTION',
        `${PLUGIN} options.channelAxis: expected 1 … ${rank - 1} or −${rank - 1} … −1 for spatialDims ${spatialDims} (inputs of rank ${rank}, or ${rank - 1} unbatched; axis 0 is the batch), got ${channelAxis}`,
        'options.channelAxis',
      );
    }
  }
  return Object.freeze({ numFeatures, eps, momentum, affine, trackRunningStats, channelAxis, spatialDims });
}
