import { NormkitError, describeValue, normalizeAxis, numberOption, readOptions, shapeOption } from '@normkit/core';

/** The name the weight-norm plugin uses in messages and registries. */
export const WEIGHT_NORM_NAME = 'weight-norm';

/**
 * Where the magnitude `g` starts when it is derived from a weight:
 *
 * - `'norm'`: `g = ‖v‖`, so `w = v` at the start and the function is unchanged (PyTorch);
 * - `'one'`: `g = 1`, so `w = v/‖v‖` at the start (Flax's `scale_init=ones`).
 */
export type GInit = 'norm' | 'one';

/** What a user passes to {@link resolveWeightNormOptions}. */
export interface WeightNormInputOptions {
  /** The shape of the direction `v` (and of the weight `w`); required. A number means `[n]`. */
  readonly shape: number | readonly number[];
  /**
   * The axis that keeps its own norm, as in PyTorch: `0` (default) gives one norm per output
   * unit of a linear or convolution weight, `1` suits transposed-convolution weights.
   * Negative values count from the end (`-1` is the **last axis**, unlike PyTorch's
   * internal `-1`). `null` takes one norm over the whole tensor.
   */
  readonly dim?: number | null;
  /**
   * Added to `Σv²` inside the square root: `‖v‖ = sqrt(Σv² + eps)`. Absent or `null`
   * (default): no eps, and a zero-norm slice of `v` is an `E_DEGENERATE` error.
   */
  readonly eps?: number | null;
  /** Where `g` starts when derived from a weight (default `'norm'`); see {@link GInit}. */
  readonly gInit?: GInit;
}

/** The resolved options of the weight-norm plugin. */
export interface WeightNormOptions {
  /** The shape of `v` and `w`. */
  readonly shape: readonly number[];
  /** The axis that keeps its own norm (non-negative), or `null` for one norm over everything. */
  readonly dim: number | null;
  /** The eps inside the square root, or `null` for none. */
  readonly eps: number | null;
  /** Where `g` starts when derived from a weight. */
  readonly gInit: GInit;
}

const KNOWN = ['shape', 'dim', 'eps', 'gInit'] as const;

/**
 * Validates weight-norm options and fills the defaults (`dim: 0`, `eps: null`, `gInit: 'norm'`).
 *
 * @param input - the user's options; `shape` is required
 * @returns the resolved options, with `dim` made non-negative
 * @example
 * ```ts
 * resolveWeightNormOptions({ shape: [64, 128], dim: -1 });
 * // → { shape: [64, 128], dim: 1, eps: null, gInit: 'norm' }
 * ```
 * @throws NormkitError `E_OPTION` for an unknown key, a missing or malformed `shape`, a `dim`
 *   that is not `null` or an integer in [−rank, rank), an `eps` that is not a finite number > 0,
 *   or a `gInit` other than `'norm'` / `'one'`
 */
export function resolveWeightNormOptions(input?: WeightNormInputOptions): WeightNormOptions {
  const record = readOptions(input, KNOWN, WEIGHT_NORM_NAME);
  const shape = shapeOption(record, 'shape', WEIGHT_NORM_NAME);
  const rawDim = 'dim' in record ? record.dim : 0;
  const dim = rawDim === null ? null : normalizeAxis(rawDim as number, shape.length, 'options.dim');
  const eps = epsOption(record, WEIGHT_NORM_NAME);
  const gInit = gInitOption(record, WEIGHT_NORM_NAME);
  return { shape, dim, eps, gInit };
}

/**
 * The `eps` option: absent or `null` → `null`; otherwise a finite number > 0.
 *
 * @param record - the options record from core's `readOptions`
 * @param plugin - the plugin name, for messages
 * @returns the eps, or `null` for none
 * @throws NormkitError `E_OPTION` for anything but `null`, absent, or a finite number > 0
 */
export function epsOption(record: Record<string, unknown>, plugin: string): number | null {
  if (!('eps' in record) || record.eps === null) return null;
  return numberOption(record, 'eps', undefined, { greaterThan: 0 }, plugin);
}

/**
 * The `gInit` option: `'norm'` (default) or `'one'`.
 *
 * @param record - the options record from core's `readOptions`
 * @param plugin - the plugin name, for messages
 * @returns the option's value, `'norm'` when absent
 * @throws NormkitError `E_OPTION` for any other value
 */
export function gInitOption(record: Record<string, unknown>, plugin: string): GInit {
  const value = 'gInit' in record ? record.gInit : 'norm';
  if (value !== 'norm' && value !== 'one') {
    throw new NormkitError('E_OPTION', `${plugin} options.gInit: expected 'norm' or 'one', got ${describeValue(value)}`, 'options.gInit');
  }
  return value;
}

/**
 * The shape PyTorch gives `g`: the size of `v` on `dim`, 1 on every other axis; `[]`
 * (a 0-d scalar) when `dim` is `null`. E.g. `[out, 1, 1, 1]` for `dim = 0` on a conv weight.
 *
 * @param options - resolved options
 * @returns the shape of `g`
 */
export function gShapeOf(options: Pick<WeightNormOptions, 'shape' | 'dim'>): number[] {
  const { shape, dim } = options;
  if (dim === null) return [];
  return shape.map((size, k) => (k === dim ? size : 1));
}

/**
 * The axes `‖v‖` is taken over: every axis except `dim`, or all of them for `dim = null`.
 *
 * @param options - resolved options
 * @returns the reduced axes, ascending
 */
export function normAxesOf(options: Pick<WeightNormOptions, 'shape' | 'dim'>): number[] {
  const axes: number[] = [];
  for (let k = 0; k < options.shape.length; k++) if (k !== options.dim) axes.push(k);
  return axes;
}

/**
 * How many slices carry their own norm: `shape[dim]`, or 1 for `dim = null`.
 *
 * @param options - resolved options
 * @returns the number of slices (the length of `g`'s data)
 */
export function sliceCountOf(options: Pick<WeightNormOptions, 'shape' | 'dim'>): number {
  return options.dim === null ? 1 : options.shape[options.dim];
}
