import { Layer, NormkitError, assertFinite, assertTensor, describeValue, dtypeOf, elementAt, firstNonFinite, formatShape, fromArray, ones, shapesEqual, toContiguous } from '@normkit/core';

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;
import type { Dtype, LayerInit, LayerTensors, Tensor } from '@normkit/core';
import type { WeightNormInputOptions } from './options.js';
import { gShapeOf, resolveWeightNormOptions } from './options.js';
import type { WeightNormTypes } from './plugin.js';
import { directionNorms, weightNorm } from './plugin.js';

/** Options of {@link weightNormFromWeight}: the plugin's options, with `shape` taken from the weight. */
export type WeightNormFromWeightOptions = Omit<WeightNormInputOptions, 'shape'> & {
  /** When given, must equal the weight's shape. */
  readonly shape?: number | readonly number[];
};

/**
 * Reparameterizes an existing weight as PyTorch's `weight_norm` does: `v = w` (a row-major
 * copy) and `g = ‖w‖` per slice (`gInit: 'norm'`, so `g·v/‖v‖ = w`), or `g = 1`
 * (`gInit: 'one'`, Flax).
 *
 * @param weight - the weight to start from
 * @param options - `dim` (default 0), `eps`, `gInit`; `shape` defaults to the weight's
 * @param dtype - the dtype of `v` and `g` (default: the weight's)
 * @returns `v` shaped like the weight, and `g` in PyTorch's shape
 * @throws NormkitError `E_DTYPE` for a non-float weight; `E_SHAPE` for an empty weight or a
 *   `shape` option that differs from it; `E_OPTION` for bad options; `E_DEGENERATE` for a
 *   zero-norm slice without eps; `E_NONFINITE` for NaN or ±Infinity in the weight, or a norm
 *   that `dtype` cannot hold
 */
export function weightNormFromWeight(
  weight: Tensor,
  options: WeightNormFromWeightOptions = {},
  dtype?: Dtype,
): {
  /** The direction: a row-major copy of the weight, in `dtype`. */
  v: Tensor;
  /** The magnitude in PyTorch's shape: `‖weight‖` per slice, or ones with `gInit: 'one'`. */
  g: Tensor;
} {
  const w = assertTensor(weight, 'weight');
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new NormkitError('E_OPTION', `weight-norm options: expected an object { dim?, eps?, gInit?, shape? }, got ${describeValue(options)}`, 'options');
  }
  assertFinite(w, 'weight');
  const resolved = resolveWeightNormOptions({ ...options, shape: options.shape ?? w.shape });
  if (!shapesEqual(resolved.shape, w.shape)) {
    throw new NormkitError('E_SHAPE', `weight: expected shape ${formatShape(resolved.shape)} (options.shape), got ${formatShape(w.shape)}`, 'weight');
  }
  const target = dtype ?? dtypeOf(w);
  const v = toContiguous(w, target);
  // A finite float64 value above float32's range would become ±Infinity in a float32 v.
  const tooLarge = firstNonFinite(v);
  if (tooLarge !== null) {
    throw new NormkitError(
      'E_NONFINITE',
      `weight: ${elementAt(w, tooLarge)} at [${tooLarge.join(', ')}] is more than ${target} holds; keep the weight in ${dtypeOf(w)} (dtype '${dtypeOf(w)}')`,
      'weight',
    );
  }
  const norms = directionNorms(v, resolved, 'weight');
  const largest = target === 'float32' ? FLOAT32_MAX : Number.MAX_VALUE;
  const overflow = resolved.gInit === 'norm' ? norms.findIndex((norm) => !(norm <= largest)) : -1;
  if (overflow >= 0) {
    throw new NormkitError(
      'E_NONFINITE',
      `weight: the norm of slice ${overflow} is ${norms[overflow]}, which ${target} cannot hold as g; scale the weight down or use float64`,
      'weight',
    );
  }
  const gShape = gShapeOf(resolved);
  const g = resolved.gInit === 'norm' ? fromArray(norms, gShape, target) : ones(gShape, target);
  return { v, g };
}

/** Options of the {@link WeightNorm} constructor beyond the plugin's own. */
export interface WeightNormLayerInit extends LayerInit {
  /**
   * A weight to start from: `g` is set from it as in {@link weightNormFromWeight}
   * (‖weight‖ per slice, or 1 with `gInit: 'one'`). The layer does not keep it: `v` is the
   * input of `forward`, and you hold it (e.g. `weightNormFromWeight(weight).v`).
   */
  readonly weight?: Tensor;
}

/**
 * The stateful {@link Layer} around {@link weightNorm}, as PyTorch's `weight_norm(module)`:
 * it holds `g` and its gradient; `forward(v)` returns `w`, `backward(dw)` returns `dv` and
 * accumulates `dg`.
 *
 * @example
 * ```ts
 * const { v } = weightNormFromWeight(w0);
 * const layer = new WeightNorm({ dim: 0 }, { weight: w0 });  // g = ‖w0‖ per row
 * const w = layer.forward(v);                                // equals w0
 * ```
 */
export class WeightNorm extends Layer<WeightNormTypes> {
  /** The magnitude `g` (always present). */
  declare params: LayerTensors<WeightNormTypes['Params'], 'g'>;
  /** The accumulated gradient of `g`. */
  declare readonly grads: LayerTensors<WeightNormTypes['Params'], 'g'>;

  /**
   * @param options - the plugin's options; `shape` may be left out when `init.weight` is given
   * @param init - `dtype` (default: the weight's, else `'float32'`) and an optional starting `weight`
   * @throws NormkitError `E_OPTION` for bad options or an unknown `init` key; `E_SHAPE`, `E_DTYPE`,
   *   `E_DEGENERATE`, `E_NONFINITE` for a bad weight
   */
  constructor(options: WeightNormFromWeightOptions = {}, init: WeightNormLayerInit = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new NormkitError('E_OPTION', `weight-norm options: expected an object, got ${describeValue(options)}`, 'options');
    }
    if (typeof init !== 'object' || init === null) {
      throw new NormkitError('E_OPTION', `WeightNorm init: expected an object, got ${describeValue(init)}`, 'init');
    }
    const unknown = Object.keys(init).filter((key) => key !== 'dtype' && key !== 'weight');
    if (unknown.length > 0) {
      throw new NormkitError('E_OPTION', `WeightNorm init: expected only the keys dtype and weight, got ${unknown.map((key) => JSON.stringify(key)).join(', ')}`, 'init');
    }
    const weight = init.weight === undefined ? undefined : assertTensor(init.weight, 'init.weight');
    if (weight !== undefined) assertFinite(weight, 'init.weight');
    const shape = options.shape ?? weight?.shape;
    const dtype = init.dtype ?? (weight === undefined ? 'float32' : dtypeOf(weight));
    super(weightNorm, { ...options, shape } as WeightNormInputOptions, { dtype });
    if (weight !== undefined) {
      if (!shapesEqual(weight.shape, this.options.shape)) {
        throw new NormkitError(
          'E_SHAPE',
          `init.weight: expected shape ${formatShape(this.options.shape)} (options.shape), got ${formatShape(weight.shape)}`,
          'init.weight',
        );
      }
      this.params = { g: weightNormFromWeight(weight, this.options, this.dtype).g };
    }
  }
}
