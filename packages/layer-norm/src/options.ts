import { booleanOption, numberOption, readOptions, shapeOption } from '@normkit/core';

/** The plugin name used in option and error messages. */
const PLUGIN = 'layer-norm';

/** The option names layer norm accepts; any other key is rejected with `E_OPTION`. */
const KNOWN_OPTIONS: readonly string[] = ['normalizedShape', 'eps', 'elementwiseAffine', 'bias'];

/** The default `eps`, as PyTorch's `nn.LayerNorm` and ONNX's `LayerNormalization`. */
export const DEFAULT_EPS = 1e-5;

/**
 * What a user passes to {@link resolveLayerNormOptions} (and to `new LayerNorm(...)`),
 * named as PyTorch's `nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)`.
 */
export interface LayerNormInputOptions {
  /**
   * The trailing shape to normalize over: one size (`768`) or a list (`[H, W]`). The
   * input's last `normalizedShape.length` axes must equal it. Required.
   */
  readonly normalizedShape: number | readonly number[];
  /** Added to the variance inside the square root; must be > 0. Default `1e-5`. */
  readonly eps?: number;
  /** Learn a per-element `weight` (ones) and `bias` (zeros) of shape `normalizedShape`. Default `true`. */
  readonly elementwiseAffine?: boolean;
  /**
   * Keep the `bias` parameter when `elementwiseAffine` is on (PyTorch 2.1's switch to
   * drop the bias but keep the weight). Without `elementwiseAffine` it has no effect:
   * there are no parameters at all. Default `true`.
   */
  readonly bias?: boolean;
}

/** The resolved options every plugin method receives (see {@link LayerNormInputOptions}). */
export interface LayerNormOptions {
  /** The trailing shape normalized over, as a list of positive integers. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance inside the square root (> 0). */
  readonly eps: number;
  /** Is there a per-element `weight` (and, with {@link LayerNormOptions.bias}, a `bias`)? */
  readonly elementwiseAffine: boolean;
  /**
   * The `bias` switch as given. A `bias` parameter exists exactly when
   * `elementwiseAffine && bias` (see {@link hasWeight} / {@link hasBias}).
   */
  readonly bias: boolean;
}

/**
 * Validates layer-norm options and fills the defaults: `eps = 1e-5`,
 * `elementwiseAffine = true`, `bias = true`.
 *
 * @param input - the user's options; `normalizedShape` is required
 * @returns frozen resolved options; `normalizedShape` is always a list
 * @throws NormkitError `E_OPTION` for a non-object, an unknown key, a missing or
 *   malformed `normalizedShape` (not a positive integer or a non-empty list of them),
 *   `eps ≤ 0` or non-finite, or a non-boolean `elementwiseAffine` / `bias`
 * @example
 * ```ts
 * resolveLayerNormOptions({ normalizedShape: 768 });
 * // → { normalizedShape: [768], eps: 1e-5, elementwiseAffine: true, bias: true }
 * ```
 */
export function resolveLayerNormOptions(input?: LayerNormInputOptions): LayerNormOptions {
  const record = readOptions(input, KNOWN_OPTIONS, PLUGIN);
  const normalizedShape = Object.freeze(shapeOption(record, 'normalizedShape', PLUGIN));
  const eps = numberOption(record, 'eps', DEFAULT_EPS, { greaterThan: 0 }, PLUGIN);
  const elementwiseAffine = booleanOption(record, 'elementwiseAffine', true, PLUGIN);
  const bias = booleanOption(record, 'bias', true, PLUGIN);
  return Object.freeze({ normalizedShape, eps, elementwiseAffine, bias });
}

/**
 * Does layer norm have a `weight` parameter under these options?
 *
 * @param options - resolved options
 * @returns `options.elementwiseAffine`
 */
export function hasWeight(options: LayerNormOptions): boolean {
  return options.elementwiseAffine;
}

/**
 * Does layer norm have a `bias` parameter under these options?
 *
 * @param options - resolved options
 * @returns `options.elementwiseAffine && options.bias`
 */
export function hasBias(options: LayerNormOptions): boolean {
  return options.elementwiseAffine && options.bias;
}
