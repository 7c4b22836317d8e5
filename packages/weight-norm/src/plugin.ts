import {
  Layer,
  NormkitError,
  assertMode,
  assertTensor,
  assertTensorMap,
  defineNormalizer,
  describeValue,
  dtypeOf,
  formatShape,
  fromArray,
  ones,
  outputTensor,
  shapesEqual,
  toContiguous,
  toTypedArray,
} from '@normkit/core';
import type { Dtype, LayerInit, NormalizerTypes, Tensor } from '@normkit/core';
import { rawView, scaleSlices, sliceNorms, weightNormBackwardKernel } from './kernels/weight-norm.js';
import type { WeightNormInputOptions, WeightNormOptions } from './options.js';
import { WEIGHT_NORM_NAME, gShapeOf, normAxesOf, resolveWeightNormOptions, sliceAxesOf, sliceCountOf } from './options.js';
import { VERSION } from './version.js';

/** What the weight-norm forward pass hands to its backward pass. */
export interface WeightNormSaved {
  /** The direction `v` as given to `forward` (a reference, not a copy). */
  readonly v: Tensor;
  /** `‖v‖` per slice (with eps inside the root when set), in float64. */
  readonly vNorm: Float64Array;
}

/** The type bag of {@link weightNorm}. */
export interface WeightNormTypes extends NormalizerTypes {
  /** See {@link WeightNormInputOptions}. */
  InputOptions: WeightNormInputOptions;
  /** See {@link WeightNormOptions}. */
  Options: WeightNormOptions;
  /** The magnitude `g`, in PyTorch's shape (see {@link gShapeOf}). */
  Params: 'g';
  /** Weight norm keeps no state. */
  State: never;
  /** See {@link WeightNormSaved}. */
  Saved: WeightNormSaved;
}

/**
 * `‖v‖` per slice, checked: `sqrt(Σv² + eps)` over every axis except `dim`.
 *
 * @param v - the direction, of `options.shape` (any strides)
 * @param options - resolved options
 * @param name - the argument name for the error message (default `"x"`)
 * @returns one float64 norm per slice
 * @throws NormkitError `E_DEGENERATE` when a slice has zero norm and there is no eps
 */
export function directionNorms(v: Tensor, options: WeightNormOptions, name = 'x'): Float64Array {
  const vNorm = new Float64Array(sliceCountOf(options));
  const zero = sliceNorms(rawView(v), sliceAxesOf(options), options.eps ?? 0, vNorm);
  if (zero >= 0) {
    const where = options.dim === null ? 'the whole tensor' : `slice ${zero} along dim ${options.dim}`;
    throw new NormkitError(
      'E_DEGENERATE',
      `${name}: expected a non-zero norm of v over ${where}, got 0 (w = g·v/‖v‖ is undefined; set the eps option to allow it)`,
      name,
    );
  }
  return vNorm;
}

/** `g` as one float64 value per slice (row-major order of a PyTorch-shaped `g`). */
function sliceValues(t: Tensor): Float64Array {
  return Float64Array.from(toTypedArray(t));
}

/**
 * Weight normalization as a plugin (Salimans & Kingma 2016): the input is the direction
 * `v`, the one parameter is the magnitude `g`, and the output is the weight
 *
 * $$w = g_s\,\frac{v}{\lVert v \rVert_s},\qquad \lVert v \rVert_s = \sqrt{\textstyle\sum v^2 + \epsilon}$$
 *
 * per slice $`s`$, the norm taken over every axis except `dim` (all axes for `dim = null`).
 *
 * Backward, with $`\hat w = v / \lVert v \rVert_s`$: $`dg_s = \sum dw \cdot \hat w`$ per slice and
 * $`dv = \frac{g_s}{\lVert v \rVert_s}\big(dw - \hat w\, dg_s\big)`$, so $`\langle dv, v \rangle = 0`$
 * per slice when there is no eps.
 *
 * `g` has PyTorch's shape (see {@link gShapeOf}). `init` sets `g = 1` because it cannot see
 * `v`; use {@link weightNormFromWeight} or {@link WeightNorm} for PyTorch's `g = ‖v‖`.
 *
 * @throws NormkitError from `resolveOptions`: `E_OPTION` (see {@link resolveWeightNormOptions}).
 *   From `forward`: `E_DTYPE` for a non-float `x` or `g`; `E_SHAPE` when `x` is not of
 *   `options.shape` or `g` not of the PyTorch `g` shape; `E_STATE` for a missing `g` or any
 *   state entry; `E_OPTION` for a mode other than `'train'`/`'eval'`; `E_DEGENERATE` for a
 *   zero-norm slice without eps; `E_SHAPE`/`E_DTYPE` for a bad `out`. From `backward`:
 *   `E_SHAPE`/`E_DTYPE` for a bad `dy`, `g` or `out`, `E_STATE` for a missing `g` or a
 *   `saved` that does not fit the options.
 * @example
 * ```ts
 * const options = weightNorm.resolveOptions({ shape: [3, 4], dim: 0 });
 * const { v, g } = weightNormFromWeight(w0, { dim: 0 });      // g = ‖w0‖ per row
 * const { y: w, saved } = weightNorm.forward({ x: v, params: { g }, state: {}, mode: 'train' }, options);
 * const { dx: dv, grads } = weightNorm.backward({ dy: dw, params: { g }, saved }, options);  // grads.g
 * ```
 */
export const weightNorm = defineNormalizer<WeightNormTypes>({
  meta: {
    name: WEIGHT_NORM_NAME,
    version: VERSION,
    description: 'Weight normalization: the weight w = g·v/‖v‖ from a direction v and a magnitude g per slice along dim.',
    formula: String.raw`w = g\,\frac{v}{\lVert v \rVert},\quad \lVert v \rVert = \sqrt{\textstyle\sum_{\neg\mathrm{dim}} v^2 + \epsilon}`,
  },
  modes: ['train'],
  exampleOptions: [
    { shape: [3, 4], dim: 0 },
    { shape: [3, 4], dim: 1 },
    { shape: [3, 4], dim: null },
    { shape: [2, 3, 2, 2], dim: 0 },
    { shape: [2, 3, 2, 2], dim: 1 },
    { shape: [2, 3, 2, 2], dim: null },
    { shape: [3, 4], dim: -1, eps: 1e-3 },
  ],
  resolveOptions: resolveWeightNormOptions,
  paramShapes(options) {
    return { g: gShapeOf(options) };
  },
  stateShapes() {
    return {};
  },
  init(options, dtype: Dtype = 'float32') {
    return { params: { g: ones(gShapeOf(options), dtype) }, state: {} };
  },
  exampleShapes(options) {
    return [options.shape];
  },
  invariants(options) {
    // With eps, ⟨dv, v⟩ = (g·Σdw·v/‖v‖)·eps/‖v‖² — small but not an identity.
    return options.eps === null ? [{ kind: 'orthogonal-to-input', reduceAxes: normAxesOf(options) }] : [];
  },
  forward({ x, params, state, mode, out }, options) {
    assertMode(mode, 'weight-norm');
    assertTensorMap(state, {}, 'state');
    const v = assertTensor(x, 'x', { shape: options.shape });
    const g = assertTensorMap(params, { g: gShapeOf(options) }, 'params').g;
    const vNorm = directionNorms(v, options);
    const gValues = sliceValues(g);
    const scale = new Float64Array(vNorm.length);
    for (let s = 0; s < scale.length; s++) scale[s] = gValues[s] / vNorm[s];
    const w = outputTensor(out, options.shape, dtypeOf(v), 'out', [v]);
    scaleSlices(rawView(v), sliceAxesOf(options), scale, w.data);
    return { y: w, state, saved: { v, vNorm } };
  },
  backward({ dy, params, saved, out }, options) {
    const dw = assertTensor(dy, 'dy', { shape: options.shape });
    const gShape = gShapeOf(options);
    const g = assertTensorMap(params, { g: gShape }, 'params').g;
    const sliceCount = sliceCountOf(options);
    checkSaved(saved, options, sliceCount);
    const gValues = sliceValues(g);
    const invNorm = new Float64Array(sliceCount);
    const scale = new Float64Array(sliceCount);
    for (let s = 0; s < sliceCount; s++) {
      invNorm[s] = 1 / saved.vNorm[s];
      scale[s] = gValues[s] * invNorm[s];
    }
    const dg = new Float64Array(sliceCount);
    const dv = outputTensor(out, options.shape, dtypeOf(saved.v), 'out', [saved.v, dw]);
    weightNormBackwardKernel(rawView(saved.v), rawView(dw), sliceAxesOf(options), invNorm, scale, dg, dv.data);
    return { dx: dv, grads: { g: fromArray(dg, gShape, dtypeOf(g)) } };
  },
});

function checkSaved(saved: WeightNormSaved, options: WeightNormOptions, sliceCount: number): void {
  const ok =
    typeof saved === 'object' &&
    saved !== null &&
    saved.vNorm instanceof Float64Array &&
    saved.vNorm.length === sliceCount &&
    typeof saved.v === 'object' &&
    saved.v !== null &&
    Array.isArray(saved.v.shape) &&
    shapesEqual(saved.v.shape, options.shape);
  if (!ok) {
    throw new NormkitError(
      'E_STATE',
      `saved: expected the saved value of a weight-norm forward call with shape ${formatShape(options.shape)}, got something else`,
      'saved',
    );
  }
}

/** Options of {@link weightNormFromWeight}: the plugin's options, with `shape` taken from the weight. */
export type WeightNormFromWeightOptions = Omit<WeightNormInputOptions, 'shape'> & {
  /** When given, must equal the weight's shape. */
  readonly shape?: number | readonly number[];
};

/**
 * Reparameterizes an existing weight as PyTorch's `weight_norm` does: `v = w` (a row-major
 * copy) and `g = ‖w‖` per slice (`gInit: 'norm'`, so `g·v/‖v‖ = w` exactly), or `g = 1`
 * (`gInit: 'one'`, Flax).
 *
 * @param weight - the weight to start from
 * @param options - `dim` (default 0), `eps`, `gInit`; `shape` defaults to the weight's
 * @param dtype - the dtype of `v` and `g` (default: the weight's)
 * @returns `v` shaped like the weight, and `g` in PyTorch's shape
 * @throws NormkitError `E_DTYPE` for a non-float weight; `E_SHAPE` for an empty weight or a
 *   `shape` option that differs from it; `E_OPTION` for bad options; `E_DEGENERATE` for a
 *   zero-norm slice without eps
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
  const resolved = resolveWeightNormOptions({ ...options, shape: options.shape ?? w.shape });
  if (!shapesEqual(resolved.shape, w.shape)) {
    throw new NormkitError('E_SHAPE', `weight: expected shape ${formatShape(resolved.shape)} (options.shape), got ${formatShape(w.shape)}`, 'weight');
  }
  const target = dtype ?? dtypeOf(w);
  const v = toContiguous(w, target);
  const vNorm = directionNorms(v, resolved, 'weight');
  const gShape = gShapeOf(resolved);
  const g = resolved.gInit === 'norm' ? fromArray(vNorm, gShape, target) : ones(gShape, target);
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
 * The stateful {@link Layer} around {@link weightNorm}: it holds `g` and its gradient;
 * `forward(v)` returns `w`, `backward(dw)` returns `dv` and accumulates `dg`.
 *
 * @example
 * ```ts
 * const { v } = weightNormFromWeight(w0);
 * const layer = new WeightNorm({ dim: 0 }, { weight: w0 });  // g = ‖w0‖ per row
 * const w = layer.forward(v);                                // equals w0
 * ```
 */
export class WeightNorm extends Layer<WeightNormTypes> {
  /**
   * @param options - the plugin's options; `shape` may be left out when `init.weight` is given
   * @param init - `dtype` (default: the weight's, else `'float32'`) and an optional starting `weight`
   * @throws NormkitError `E_OPTION` for bad options; `E_SHAPE`, `E_DTYPE`, `E_DEGENERATE` for a bad weight
   */
  constructor(options: WeightNormFromWeightOptions = {}, init: WeightNormLayerInit = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new NormkitError('E_OPTION', `weight-norm options: expected an object, got ${describeValue(options)}`, 'options');
    }
    if (typeof init !== 'object' || init === null) {
      throw new NormkitError('E_OPTION', `WeightNorm init: expected an object, got ${describeValue(init)}`, 'init');
    }
    const weight = init.weight === undefined ? undefined : assertTensor(init.weight, 'init.weight');
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
