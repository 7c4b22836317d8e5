import {
  CONTRACT_DTYPES,
  NormkitError,
  checkBackward,
  checkDoubleBackward,
  checkForward,
  checkNormSaved,
  defineNormalizer,
  dtypeOf,
  float64Values,
  formatShape,
  fromArray,
  ones,
  outputOf,
  shapesEqual,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, Invariant, NormSaved, NormalizerTypes, Shape, Tensor } from '@normkit/core';
import { firstZeroSlice, sliceNorms, slicePlan, sliceStatistics, weightNormBackward, weightNormDoubleBackward, weightNormForward } from './direction.js';
import type { WeightNormInputOptions, WeightNormOptions } from './options.js';
import { WEIGHT_NORM_NAME, gShapeOf, normAxesOf, resolveWeightNormOptions, sliceCountOf } from './options.js';
import { weightNormOnnx } from './onnx.js';
import { weightNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/**
 * What the weight-norm forward pass hands to its backward pass: core's {@link NormSaved}
 * with `x = v` (a reference, not a copy), `center` zeros and `invStd = 1/‖v‖` per slice, and
 * `inputScale`: `null`, or the power of two per slice the engine multiplied `v` by for slices
 * whose norm is outside `[2^-256, 2^256]` (then `invStd = 1/(inputScale·‖v‖)`).
 * Do not mutate `v` before `backward`.
 */
export interface WeightNormSaved extends NormSaved {
  /** `null`, or the power-of-two factor per slice the engine worked on `v` with. */
  readonly inputScale: Float64Array | null;
}

/** The type bag of {@link weightNorm}. */
export interface WeightNormTypes extends NormalizerTypes {
  /** `'weight-norm'`. */
  Name: typeof WEIGHT_NORM_NAME;
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

/** The `E_DEGENERATE` error of a zero-norm slice of `v` without eps. */
function zeroNormError(name: string, dim: number | null, slice: number): NormkitError {
  const where = dim === null ? 'the whole tensor' : `slice ${slice} along dim ${dim}`;
  return new NormkitError(
    'E_DEGENERATE',
    `${name}: expected a non-zero norm of v over ${where}, got 0 (w = g·v/‖v‖ is undefined; set the eps option to allow it)`,
    name,
  );
}

/**
 * `‖v‖` per slice, checked: `sqrt(Σv² + eps)` over every axis except `dim`, computed by the
 * engine's uncentered moments (right for any finite `v`, see the README's numerics).
 *
 * @param v - the direction, of `options.shape` (any strides)
 * @param options - resolved options
 * @param name - the argument name for the error message (default `"x"`)
 * @returns one float64 norm per slice, row-major over `g`'s shape
 * @throws NormkitError `E_DEGENERATE` when a slice has zero norm and there is no eps
 */
export function directionNorms(v: Tensor, options: WeightNormOptions, name = 'x'): Float64Array {
  const norms = sliceNorms(viewOf(v), slicePlan(options.shape, options.dim), options.eps ?? 0);
  const zero = norms.indexOf(0);
  if (zero >= 0) throw zeroNormError(name, options.dim, zero);
  return norms;
}

/**
 * Weight normalization as a plugin (Salimans & Kingma 2016): the input is the direction
 * `v`, the one parameter is the magnitude `g`, and the output is the weight
 *
 * $$w = g_s\,\frac{v}{\lVert v \rVert_s},\qquad \lVert v \rVert_s = \sqrt{\textstyle\sum v^2 + \epsilon}$$
 *
 * per slice $`s`$, the norm taken over every axis except `dim` (all axes for `dim = null`).
 * On core's normalization engine it is an uncentered normalization with one group per slice
 * and `g` indexed like the groups: center 0, `invStd = 1/‖v‖`, weight `g`.
 *
 * Backward, with $`\hat w = v / \lVert v \rVert_s`$: $`dg_s = \sum dw \cdot \hat w`$ per slice and
 * $`dv = \frac{g_s}{\lVert v \rVert_s}\big(dw - \hat w\, dg_s\big)`$, so $`\langle dv, v \rangle = 0`$
 * per slice when there is no eps.
 *
 * `g` has PyTorch's shape (see {@link gShapeOf}) and `v`'s dtype. `init` sets `g = 1` because it
 * cannot see `v`; use {@link weightNormFromWeight} or {@link WeightNorm} for PyTorch's `g = ‖v‖`.
 *
 * The optional second-order member `doubleBackward` (the VJP of `backward`, core's
 * `normalizeDoubleBackward`, uncentered with divisor 1) is implemented.
 *
 * @throws NormkitError from `create`: `E_OPTION` (see {@link resolveWeightNormOptions}).
 *   From `forward`: `E_DTYPE` for a non-float `x` or a `g` of another dtype than `x`; `E_SHAPE`
 *   when `x` is not of `options.shape` or `g` not of the PyTorch `g` shape; `E_STATE` for a
 *   missing `g` or any state entry; `E_OPTION` for a mode other than `'train'`/`'eval'`;
 *   `E_DEGENERATE` for a zero-norm slice without eps; `E_SHAPE`/`E_DTYPE` for a bad `out`.
 *   From `backward`: `E_SHAPE`/`E_DTYPE` for a bad `dy`, `g` or `out`, `E_STATE` for a missing
 *   `g` or a `saved` that does not fit the options.
 * @example
 * ```ts
 * const wn = weightNorm.create({ shape: [3, 4], dim: 0 });
 * const { v, g } = weightNormFromWeight(w0, { dim: 0 });      // g = ‖w0‖ per row
 * const { y: w, saved } = wn.forward({ x: v, params: { g }, state: {}, mode: 'train' });
 * const { dx: dv, grads } = wn.backward({ dy: dw, params: { g }, saved });  // grads.g
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
  // The options fix the shape: these give the large ones (slices of 75 and 1600 elements,
  // 64 and 37 slices; the whole tensor as one slice).
  largeOptions: [
    { shape: [64, 3, 5, 5], dim: 0 },
    { shape: [4, 64, 5, 5], dim: 1 },
    { shape: [37, 41], dim: 0 },
    { shape: [37, 41], dim: 1 },
    { shape: [37, 41], dim: null },
    { shape: [37, 41], dim: -1, eps: 1e-3 },
  ],
  pytorch: weightNormPyTorch,
  onnx: weightNormOnnx,
  resolveOptions: resolveWeightNormOptions,

  bind(options) {
    const { shape, dim } = options;
    const eps = options.eps ?? 0;
    const gShape = gShapeOf(options);
    const plan = slicePlan(shape, dim);
    const shapeProblem = (got: Shape) => (shapesEqual(got, shape) ? null : `expected shape ${formatShape(shape)} (options.shape), got ${formatShape(got)}`);
    const spec: ForwardSpec = { plugin: WEIGHT_NORM_NAME, checkShape: shapeProblem, paramShapes: { g: gShape }, stateShapes: {} };

    return {
      paramShapes: () => ({ g: gShape }),
      stateShapes: () => ({}),

      init(dtype = 'float32') {
        return { params: { g: ones(gShape, dtype) }, state: {} };
      },

      exampleShapes() {
        return [shape];
      },

      largeShapes() {
        return [shape];
      },

      dtypes: CONTRACT_DTYPES,

      // Weight norm has no state: eval computes what train computes.
      modeIndependent: true,

      invariants(): readonly Invariant[] {
        // With eps, ⟨dv, v⟩ = (g·Σdw·v/‖v‖)·eps/‖v‖² — small but not an identity.
        return options.eps === null ? [{ kind: 'orthogonal-to-input', reduceAxes: normAxesOf(options) }] : [];
      },

      forward(args) {
        const { x: v, dtype, params, out } = checkForward(args, spec);
        const stats = sliceStatistics(viewOf(v), plan, eps);
        const zero = firstZeroSlice(stats);
        if (zero >= 0) throw zeroNormError('x', dim, zero);
        const w = outputOf(out, shape, dtype);
        weightNormForward(viewOf(v), plan, stats, float64Values(params.g), viewOf(w));
        const saved: WeightNormSaved = { x: v, center: stats.center, invStd: stats.invStd, batchStats: true, inputScale: stats.inputScale };
        return { y: w, state: args.state, saved };
      },

      backward(args) {
        const saved = checkSaved(args.saved, shapeProblem, sliceCountOf(options));
        const v = saved.x;
        const { dy: dw, params, out } = checkBackward(args, v, spec);
        const dtype = dtypeOf(v);
        const dv = outputOf(out, shape, dtype);
        const dg = weightNormBackward(viewOf(v), viewOf(dw), plan, saved, float64Values(params.g), viewOf(dv));
        return { dx: dv, grads: { g: fromArray(dg, gShape, dtype) } };
      },

      doubleBackward(args) {
        const saved = checkSaved(args.saved, shapeProblem, sliceCountOf(options));
        const v = saved.x;
        const { dy: dw, params, ddx: ddv, dgrads } = checkDoubleBackward(args, v, spec);
        const dtype = dtypeOf(v);
        const dv = outputOf(undefined, shape, dtype);
        const ddw = outputOf(undefined, shape, dtype);
        const dgradG = dgrads.g === undefined ? null : float64Values(dgrads.g);
        const dg = weightNormDoubleBackward(viewOf(v), viewOf(dw), viewOf(ddv), plan, saved, float64Values(params.g), dgradG, viewOf(dv), viewOf(ddw));
        return { dx: dv, ddy: ddw, grads: { g: fromArray(dg, gShape, dtype) } };
      },
    };
  },
});

/** Core's saved-value check, plus `inputScale`: `null` or one float64 factor per slice. */
function checkSaved(saved: unknown, shapeProblem: (shape: Shape) => string | null, slices: number): WeightNormSaved {
  const checked = checkNormSaved(saved, WEIGHT_NORM_NAME, shapeProblem, () => slices) as Partial<WeightNormSaved>;
  const scale = checked.inputScale;
  if (scale !== null && !(scale instanceof Float64Array && scale.length === slices)) {
    throw new NormkitError(
      'E_STATE',
      `saved: expected the saved value of a ${WEIGHT_NORM_NAME} forward call with these options, got inputScale that is neither null nor a Float64Array of ${slices} values`,
      'saved',
    );
  }
  return checked as WeightNormSaved;
}
