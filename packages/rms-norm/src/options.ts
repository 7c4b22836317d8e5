import { NormkitError, booleanOption, describeValue, readOptions, shapeOption } from '@normkit/core';
import type { Dtype } from '@normkit/core';

/** The plugin name used in option and error messages. */
const PLUGIN = 'rms-norm';

/** The option names RMS norm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['normalizedShape', 'eps', 'elementwiseAffine'];

/** The machine epsilon of each dtype: PyTorch's `torch.finfo(dtype).eps`, RMS norm's default `eps`. */
export const MACHINE_EPSILON: Readonly<Record<Dtype, number>> = Object.freeze({ float32: 2 ** -23, float64: 2 ** -52 });

/**
 * RMS-norm options as a user writes them, named as PyTorch's
 * `nn.RMSNorm(normalized_shape, eps=None, elementwise_affine=True)`.
 */
export interface RmsNormInputOptions {
  /** The trailing shape to normalize over: one size or a list. Required. */
  readonly normalizedShape: number | readonly number[];
  /**
   * Added to the mean square inside the square root; must be > 0. Default `null`: the input
   * dtype's machine epsilon (2⁻²³ ≈ 1.19e-7 for float32, 2⁻⁵² ≈ 2.2e-16 for float64), as
   * PyTorch's `eps=None`.
   */
  readonly eps?: number | null;
  /** Learn a per-element `weight` γ (ones) of shape `normalizedShape`; there is no bias. Default `true`. */
  readonly elementwiseAffine?: boolean;
}

/** Resolved RMS-norm options (see {@link RmsNormInputOptions}). */
export interface RmsNormOptions {
  /** The trailing shape normalized over. */
  readonly normalizedShape: readonly number[];
  /** ε, or `null` for the input dtype's machine epsilon. */
  readonly eps: number | null;
  /** Whether `weight` exists. */
  readonly elementwiseAffine: boolean;
}

/**
 * Validates RMS-norm options and fills PyTorch's defaults.
 *
 * @param input - the user's options
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for a missing or malformed `normalizedShape`, an `eps` that is
 *   not `null` or a finite number > 0, a non-boolean `elementwiseAffine`, or an unknown key
 * @example
 * ```ts
 * resolveRmsNormOptions({ normalizedShape: 768 });
 * // → { normalizedShape: [768], eps: null, elementwiseAffine: true }
 * ```
 */
export function resolveRmsNormOptions(input: RmsNormInputOptions | undefined): RmsNormOptions {
  const o = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  const normalizedShape = Object.freeze(shapeOption(o, 'normalizedShape', PLUGIN));
  const eps = o.eps ?? null;
  if (eps !== null && !(typeof eps === 'number' && Number.isFinite(eps) && eps > 0)) {
    throw new NormkitError('E_OPTION', `${PLUGIN} options.eps: expected null (the dtype's machine epsilon) or a finite number > 0, got ${describeValue(eps)}`, 'options.eps');
  }
  const elementwiseAffine = booleanOption(o, 'elementwiseAffine', true, PLUGIN);
  return Object.freeze({ normalizedShape, eps, elementwiseAffine });
}

/**
 * The ε an RMS norm uses for an input dtype.
 *
 * @param options - resolved options
 * @param dtype - the input's dtype
 * @returns `options.eps`, or the dtype's machine epsilon when it is `null`
 */
export function epsFor(options: RmsNormOptions, dtype: Dtype): number {
  return options.eps ?? MACHINE_EPSILON[dtype];
}
