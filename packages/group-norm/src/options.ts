import { NormkitError, booleanOption, describeValue, numberOption, readOptions } from '@normkit/core';

/** The plugin name used in option and error messages. */
const PLUGIN = 'group-norm';

/** The option names group norm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['numGroups', 'numChannels', 'eps', 'affine', 'channelAxis'];

/**
 * Group-norm options as a user writes them, named as PyTorch's
 * `nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)`.
 */
export interface GroupNormInputOptions {
  /** G, the number of groups the channels are split into; must divide `numChannels`. Required. */
  readonly numGroups: number;
  /** C, the number of channels. Required. */
  readonly numChannels: number;
  /** Added to the variance inside the square root; must be > 0. Default `1e-5`. */
  readonly eps?: number;
  /** Learn a per-**channel** `weight` γ (ones) and `bias` β (zeros), as PyTorch and ONNX opset 21. Default `true`. */
  readonly affine?: boolean;
  /**
   * The channel axis: `1` (default, PyTorch's `(N, C, *)`) or `-1` for channels-last data
   * `(N, *, C)`. Axis 0 is always the batch axis.
   */
  readonly channelAxis?: number;
}

/** Resolved group-norm options (see {@link GroupNormInputOptions}). */
export interface GroupNormOptions {
  /** G. */
  readonly numGroups: number;
  /** C. */
  readonly numChannels: number;
  /** ε. */
  readonly eps: number;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** The channel axis as given (resolved against the input's rank per call). */
  readonly channelAxis: number;
}

/**
 * Validates group-norm options and fills PyTorch's defaults.
 *
 * @param input - the user's options
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for a missing or non-integer `numGroups` / `numChannels`,
 *   `numChannels % numGroups ≠ 0` (PyTorch's `nn.GroupNorm` refuses it at construction too),
 *   `eps ≤ 0`, a non-boolean `affine`, a `channelAxis` that is 0 or not an integer, or an unknown key
 * @example
 * ```ts
 * resolveGroupNormOptions({ numGroups: 32, numChannels: 64 });
 * // → { numGroups: 32, numChannels: 64, eps: 1e-5, affine: true, channelAxis: 1 }
 * ```
 */
export function resolveGroupNormOptions(input: GroupNormInputOptions | undefined): GroupNormOptions {
  const o = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  if (o.numGroups === -1) {
    // Keras's GroupNormalization(groups=-1) is instance norm: one group per channel.
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.numGroups: expected an integer ≥ 1, got -1 (for Keras's groups=-1, one group per channel, pass numGroups equal to numChannels)`,
      'options.numGroups',
    );
  }
  const numGroups = numberOption(o, 'numGroups', undefined, { integer: true, min: 1 }, PLUGIN);
  const numChannels = numberOption(o, 'numChannels', undefined, { integer: true, min: 1 }, PLUGIN);
  if (numChannels % numGroups !== 0) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.numGroups: expected a divisor of numChannels ${numChannels} (each group takes numChannels / numGroups channels), got ${numGroups}`,
      'options.numGroups',
    );
  }
  const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, PLUGIN);
  const affine = booleanOption(o, 'affine', true, PLUGIN);
  const channelAxis = o.channelAxis === undefined ? 1 : o.channelAxis; // null is refused below, as for every other option
  if (typeof channelAxis !== 'number' || !Number.isInteger(channelAxis) || channelAxis === 0) {
    throw new NormkitError(
      'E_OPTION',
      `${PLUGIN} options.channelAxis: expected a non-zero integer axis (1, or -1 for channels-last; axis 0 is the batch), got ${describeValue(channelAxis)}`,
      'options.channelAxis',
    );
  }
  return Object.freeze({ numGroups, numChannels, eps, affine, channelAxis });
}
