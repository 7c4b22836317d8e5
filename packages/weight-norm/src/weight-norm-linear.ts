import {
  Layer,
  NormkitError,
  arrayTypeOf,
  assertMode,
  assertTensor,
  assertTensorMap,
  booleanOption,
  defineNormalizer,
  dtypeOf,
  formatShape,
  fromArray,
  isContiguous,
  numberOption,
  ones,
  readOptions,
  sizeOf,
  tensor,
  toContiguous,
  toTypedArray,
  zeros,
} from '@normkit/core';
import type { Dtype, LayerInit, NormalizerTypes, Tensor, TensorMap } from '@normkit/core';
import { linearBackwardKernel, linearForwardKernel, preActivationMoments } from './kernels/linear.js';
import { rawView, rowMajorView, scaleSlices, sliceNorms, weightNormBackwardKernel } from './kernels/weight-norm.js';
import type { GInit } from './options.js';
import { epsOption, gInitOption } from './options.js';
import { VERSION } from './version.js';
import { seededNormal } from './random.js';

/** The name the weight-normalized dense layer uses in messages and registries. */
export const WEIGHT_NORM_LINEAR_NAME = 'weight-norm-linear';

/** What a user passes to {@link resolveWeightNormLinearOptions}. */
export interface WeightNormLinearInputOptions {
  /** The size of the last axis of the input (required, integer ≥ 1). */
  readonly inFeatures: number;
  /** The number of output units (required, integer ≥ 1). */
  readonly outFeatures: number;
  /** Learn a bias (default true). */
  readonly bias?: boolean;
  /** Added to `Σv²` inside the root of each row's norm; absent or `null` (default): none. */
  readonly eps?: number | null;
  /** `g` at `init`: `'norm'` (default, `g = ‖v‖`, so `W = v`) or `'one'` (`W = v/‖v‖`). */
  readonly gInit?: GInit;
  /** Seed of the N(0, initStd²) draw of `v` at `init` (default 0; an unsigned 32-bit integer). */
  readonly seed?: number;
  /** Standard deviation of the entries of `v` at `init` (default 0.05, as in the paper). */
  readonly initStd?: number;
}

/** The resolved options of {@link weightNormLinear}. */
export interface WeightNormLinearOptions {
  /** Size of the input's last axis. */
  readonly inFeatures: number;
  /** Number of output units. */
  readonly outFeatures: number;
  /** Is there a bias? */
  readonly bias: boolean;
  /** eps inside the root, or `null`. */
  readonly eps: number | null;
  /** `g` at `init`. */
  readonly gInit: GInit;
  /** Seed of `v` at `init`. */
  readonly seed: number;
  /** Standard deviation of `v` at `init`. */
  readonly initStd: number;
}

/** What the dense forward pass hands to its backward pass. */
export interface WeightNormLinearSaved {
  /** The input, row-major contiguous (the given tensor when it already was). */
  readonly x: Tensor;
  /** `‖v‖` per output unit, in float64. */
  readonly vNorm: Float64Array;
  /** The materialized `W = g·v/‖v‖`, `out × in` row-major, in float64. */
  readonly weight: Float64Array;
}

/** The type bag of {@link weightNormLinear}. */
export interface WeightNormLinearTypes extends NormalizerTypes {
  /** See {@link WeightNormLinearInputOptions}. */
  InputOptions: WeightNormLinearInputOptions;
  /** See {@link WeightNormLinearOptions}. */
  Options: WeightNormLinearOptions;
  /** The direction `v (out, in)`, the magnitude `g (out)` and, with `bias: true`, `bias (out)`. */
  Params: 'v' | 'g' | 'bias';
  /** The layer keeps no state. */
  State: never;
  /** See {@link WeightNormLinearSaved}. */
  Saved: WeightNormLinearSaved;
}

/** The parameters of {@link weightNormLinear}. */
export type WeightNormLinearParams = TensorMap<'v' | 'g' | 'bias'>;

const KNOWN = ['inFeatures', 'outFeatures', 'bias', 'eps', 'gInit', 'seed', 'initStd'] as const;

/**
 * Validates the dense layer's options and fills the defaults
 * (`bias: true`, `eps: null`, `gInit: 'norm'`, `seed: 0`, `initStd: 0.05`).
 *
 * @param input - the user's options; `inFeatures` and `outFeatures` are required
 * @returns the resolved options
 *
 * @throws NormkitError `E_OPTION` for an unknown key, a missing or non-positive-integer
 *   `inFeatures`/`outFeatures`, a non-boolean `bias`, an `eps` that is not > 0, a bad `gInit`,
 *   a `seed` outside [0, 2³² − 1] or an `initStd` that is not > 0
 */
export function resolveWeightNormLinearOptions(input?: WeightNormLinearInputOptions): WeightNormLinearOptions {
  const name = WEIGHT_NORM_LINEAR_NAME;
  const record = readOptions(input, KNOWN, name);
  return {
    inFeatures: numberOption(record, 'inFeatures', undefined, { integer: true, min: 1 }, name),
    outFeatures: numberOption(record, 'outFeatures', undefined, { integer: true, min: 1 }, name),
    bias: booleanOption(record, 'bias', true, name),
    eps: epsOption(record, name),
    gInit: gInitOption(record, name),
    seed: numberOption(record, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }, name),
    initStd: numberOption(record, 'initStd', 0.05, { greaterThan: 0 }, name),
  };
}

interface CheckedParams {
  readonly v: Tensor;
  readonly g: Tensor;
  readonly bias: Tensor | null;
}

function checkParams(params: WeightNormLinearParams, options: WeightNormLinearOptions): CheckedParams {
  const { inFeatures, outFeatures } = options;
  const expected = options.bias
    ? { v: [outFeatures, inFeatures], g: [outFeatures], bias: [outFeatures] }
    : { v: [outFeatures, inFeatures], g: [outFeatures] };
  const checked = assertTensorMap(params, expected, 'params');
  return { v: checked.v, g: checked.g, bias: checked.bias ?? null };
}

function checkInput(x: unknown, options: WeightNormLinearOptions): Tensor {
  const t = assertTensor(x, 'x', { minRank: 1 });
  const last = t.shape[t.shape.length - 1];
  if (last !== options.inFeatures) {
    throw new NormkitError(
      'E_SHAPE',
      `x: expected a last axis of size inFeatures = ${options.inFeatures}, got shape ${formatShape(t.shape)}`,
      'x',
    );
  }
  return t;
}

/** ‖v‖ per row, checked (`E_DEGENERATE` for a zero row without eps). */
function rowNorms(v: Tensor, options: WeightNormLinearOptions): Float64Array {
  const vNorm = new Float64Array(options.outFeatures);
  const zero = sliceNorms(rawView(v), [0], options.eps ?? 0, vNorm);
  if (zero >= 0) {
    throw new NormkitError(
      'E_DEGENERATE',
      `params.v: expected a non-zero norm for every output unit, got 0 for unit ${zero} (set the eps option to allow it)`,
      'params.v',
    );
  }
  return vNorm;
}

/** `W = v·scale` per row, `out × in` row-major float64. */
function scaledRows(v: Tensor, scale: Float64Array): Float64Array {
  const out = new Float64Array(sizeOf(v.shape));
  scaleSlices(rawView(v), [0], scale, out);
  return out;
}

/**
 * A dense layer with a weight-normalized weight, as a plugin:
 *
 * $$y = x W^\top + b,\qquad W_{o,:} = g_o\,\frac{v_{o,:}}{\lVert v_{o,:} \rVert},\quad \lVert v_{o,:} \rVert = \sqrt{\textstyle\sum_i v_{oi}^2 + \epsilon}$$
 *
 * Input `(..., inFeatures)`, output `(..., outFeatures)`; parameters `v (out, in)`,
 * `g (out)` and `bias (out)` (absent with `bias: false`). Backward gives `dx = dy·W`,
 * `dbias = Σ dy`, and `dv`, `dg` from `dW = dyᵀ·x` through the weight-norm backward.
 *
 * `init` draws `v` from N(0, initStd²) with the seeded generator (Salimans & Kingma), sets
 * `g = ‖v‖` (or 1 with `gInit: 'one'`) and `bias = 0`. See {@link initFromBatch} for the
 * paper's data-dependent initialization.
 *
 * @throws NormkitError from `resolveOptions`: `E_OPTION` (see {@link resolveWeightNormLinearOptions}).
 *   From `forward`: `E_DTYPE` for non-float tensors; `E_SHAPE` when the last axis of `x` is not
 *   `inFeatures` or a parameter is misshapen; `E_STATE` for a missing or unexpected parameter
 *   or any state entry; `E_OPTION` for a mode other than `'train'`/`'eval'`; `E_DEGENERATE`
 *   for a zero row of `v` without eps. From `backward`: `E_SHAPE`/`E_DTYPE` for a `dy` that is
 *   not a float tensor shaped like `y` or a bad parameter, `E_STATE` for a `saved` that does
 *   not fit. `forward` and `backward` ignore a preallocated `out`.
 * @example
 * ```ts
 * const options = weightNormLinear.resolveOptions({ inFeatures: 4, outFeatures: 3 });
 * const { params } = weightNormLinear.init(options, 'float64');   // v ~ N(0, 0.05²), g = ‖v‖, bias = 0
 * const { y, saved } = weightNormLinear.forward({ x, params, state: {}, mode: 'train' }, options);
 * const { dx, grads } = weightNormLinear.backward({ dy, params, saved }, options);  // grads.v, .g, .bias
 * ```
 */
export const weightNormLinear = defineNormalizer<WeightNormLinearTypes>({
  meta: {
    name: WEIGHT_NORM_LINEAR_NAME,
    version: VERSION,
    description: 'A dense layer y = x·Wᵀ + b whose weight rows are weight-normalized: W = g·v/‖v‖ per output unit.',
    formula: String.raw`y = x W^\top + b,\quad W_{o,:} = g_o\,\frac{v_{o,:}}{\lVert v_{o,:} \rVert}`,
  },
  modes: ['train'],
  exampleOptions: [
    { inFeatures: 4, outFeatures: 3 },
    { inFeatures: 3, outFeatures: 2, bias: false, gInit: 'one', seed: 7 },
  ],
  resolveOptions: resolveWeightNormLinearOptions,
  paramShapes(options) {
    const { inFeatures, outFeatures } = options;
    return options.bias
      ? { v: [outFeatures, inFeatures], g: [outFeatures], bias: [outFeatures] }
      : { v: [outFeatures, inFeatures], g: [outFeatures] };
  },
  stateShapes() {
    return {};
  },
  init(options, dtype: Dtype = 'float32') {
    const { inFeatures, outFeatures } = options;
    const next = seededNormal(options.seed);
    const values = new (arrayTypeOf(dtype))(outFeatures * inFeatures);
    for (let i = 0; i < values.length; i++) values[i] = options.initStd * next();
    const v = tensor(values, [outFeatures, inFeatures]);
    const g = options.gInit === 'norm' ? fromArray(rowNorms(v, options), [outFeatures], dtype) : ones([outFeatures], dtype);
    const params: WeightNormLinearParams = options.bias ? { v, g, bias: zeros([outFeatures], dtype) } : { v, g };
    return { params, state: {} };
  },
  exampleShapes(options) {
    return [
      [5, options.inFeatures],
      [2, 3, options.inFeatures],
    ];
  },
  invariants() {
    return [];
  },
  forward({ x, params, state, mode }, options) {
    assertMode(mode, 'weight-norm-linear');
    assertTensorMap(state, {}, 'state');
    const input = checkInput(x, options);
    const { v, g, bias } = checkParams(params, options);
    const vNorm = rowNorms(v, options);
    const gValues = toTypedArray(g);
    const scale = new Float64Array(options.outFeatures);
    for (let o = 0; o < scale.length; o++) scale[o] = gValues[o] / vNorm[o];
    const weight = scaledRows(v, scale);
    const biasValues = bias === null ? null : Float64Array.from(toTypedArray(bias));
    const xc = isContiguous(input) ? input : toContiguous(input);
    const rows = sizeOf(xc.shape) / options.inFeatures;
    const y = new (arrayTypeOf(dtypeOf(input)))(rows * options.outFeatures);
    linearForwardKernel(xc.data, xc.offset, rows, options.inFeatures, weight, biasValues, options.outFeatures, y);
    const yShape = [...input.shape.slice(0, -1), options.outFeatures];
    return { y: tensor(y, yShape), state, saved: { x: xc, vNorm, weight } };
  },
  backward({ dy, params, saved }, options) {
    const { inFeatures, outFeatures } = options;
    checkSaved(saved, options);
    const yShape = [...saved.x.shape.slice(0, -1), outFeatures];
    const upstream = assertTensor(dy, 'dy', { shape: yShape });
    const { v, g, bias } = checkParams(params, options);
    const dyc = isContiguous(upstream) ? upstream : toContiguous(upstream);
    const rows = sizeOf(yShape) / outFeatures;
    const dx = new (arrayTypeOf(dtypeOf(saved.x)))(rows * inFeatures);
    const dWeight = new Float64Array(outFeatures * inFeatures);
    const dBias = bias === null ? null : new Float64Array(outFeatures);
    linearBackwardKernel(saved.x.data, saved.x.offset, rows, inFeatures, saved.weight, outFeatures, dyc.data, dyc.offset, dx, dWeight, dBias);
    const gValues = toTypedArray(g);
    const invNorm = new Float64Array(outFeatures);
    const scale = new Float64Array(outFeatures);
    for (let o = 0; o < outFeatures; o++) {
      invNorm[o] = 1 / saved.vNorm[o];
      scale[o] = gValues[o] * invNorm[o];
    }
    const dg = new Float64Array(outFeatures);
    const dv = new (arrayTypeOf(dtypeOf(v)))(outFeatures * inFeatures);
    weightNormBackwardKernel(rawView(v), rowMajorView(dWeight, [outFeatures, inFeatures]), [0], invNorm, scale, dg, dv);
    const grads: WeightNormLinearParams = {
      v: tensor(dv, [outFeatures, inFeatures]),
      g: fromArray(dg, [outFeatures], dtypeOf(g)),
      ...(bias === null || dBias === null ? {} : { bias: fromArray(dBias, [outFeatures], dtypeOf(bias)) }),
    };
    return { dx: tensor(dx, saved.x.shape), grads };
  },
});

function checkSaved(saved: WeightNormLinearSaved, options: WeightNormLinearOptions): void {
  const ok =
    typeof saved === 'object' &&
    saved !== null &&
    saved.vNorm instanceof Float64Array &&
    saved.vNorm.length === options.outFeatures &&
    saved.weight instanceof Float64Array &&
    saved.weight.length === options.outFeatures * options.inFeatures &&
    typeof saved.x === 'object' &&
    saved.x !== null &&
    Array.isArray(saved.x.shape) &&
    saved.x.shape.length >= 1 &&
    saved.x.shape[saved.x.shape.length - 1] === options.inFeatures &&
    isContiguous(saved.x);
  if (!ok) {
    throw new NormkitError('E_STATE', 'saved: expected the saved value of a weight-norm-linear forward call with these options, got something else', 'saved');
  }
}

/**
 * The materialized weight `W = g·v/‖v‖` (one norm per output unit), `(out, in)`, in `v`'s dtype.
 *
 * @param params - `v` and `g` (a bias is ignored)
 * @param options - the layer's options
 * @returns a new row-major tensor $`W_{o,:} = g_o\,v_{o,:} / \lVert v_{o,:} \rVert`$
 * @throws NormkitError `E_SHAPE`/`E_DTYPE` for misshapen or non-float parameters, `E_STATE`
 *   for a missing `v` or `g`; `E_DEGENERATE` for a zero row of `v` without eps; `E_OPTION`
 *   for bad options
 */
export function materializeLinearWeight(params: WeightNormLinearParams, options: WeightNormLinearInputOptions): Tensor {
  const resolved = resolveWeightNormLinearOptions(options);
  const { v, g } = checkParams({ v: params.v, g: params.g }, { ...resolved, bias: false });
  const vNorm = rowNorms(v, resolved);
  const gValues = toTypedArray(g);
  const scale = new Float64Array(resolved.outFeatures);
  for (let o = 0; o < scale.length; o++) scale[o] = gValues[o] / vNorm[o];
  const out = new (arrayTypeOf(dtypeOf(v)))(sizeOf(v.shape));
  scaleSlices(rawView(v), [0], scale, out);
  return tensor(out, [resolved.outFeatures, resolved.inFeatures]);
}

/**
 * Data-dependent initialization (Salimans & Kingma 2016, §3). On one batch `x`, the
 * pre-activations `t = x·v̂ᵀ` with `v̂ = v/‖v‖` have per-unit mean `μ` and standard deviation
 * `σ` (biased, over every row of `x`); then
 *
 * ```
 * g ← 1/σ        bias ← −μ/σ
 * ```
 *
 * so the layer's outputs on that batch, `y = g·t + bias = (t − μ)/σ`, have mean 0 and
 * variance 1 per unit. Without a bias only `g` is set (variance 1, mean `μ/σ`).
 *
 * Pure: the given parameters are not touched; `v` is returned as given (same tensor),
 * `g` and `bias` are new tensors of their old dtypes.
 *
 * @param params - the current `v`, `g` (and `bias`)
 * @param x - one batch, `(..., inFeatures)` with at least 2 rows
 * @param options - the layer's options
 * @returns the new parameters
 * @throws NormkitError `E_DTYPE`/`E_SHAPE` for bad tensors (last axis of `x` ≠ `inFeatures`),
 *   `E_STATE` for a missing or unexpected parameter;
 *   `E_DEGENERATE` for fewer than 2 rows, a zero row of `v` without eps, or a unit whose
 *   pre-activations are constant over the batch (σ = 0); `E_OPTION` for bad options
 */
export function initFromBatch(params: WeightNormLinearParams, x: Tensor, options: WeightNormLinearInputOptions): WeightNormLinearParams {
  const resolved = resolveWeightNormLinearOptions(options);
  const { inFeatures, outFeatures } = resolved;
  const input = checkInput(x, resolved);
  const { v, g, bias } = checkParams(params, resolved);
  const rows = sizeOf(input.shape) / inFeatures;
  if (rows < 2) {
    throw new NormkitError('E_DEGENERATE', `x: expected at least 2 rows to estimate a variance, got shape ${formatShape(input.shape)}`, 'x');
  }
  const vNorm = rowNorms(v, resolved);
  const inverse = new Float64Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) inverse[o] = 1 / vNorm[o];
  const direction = scaledRows(v, inverse);
  const xc = isContiguous(input) ? input : toContiguous(input);
  const mean = new Float64Array(outFeatures);
  const variance = new Float64Array(outFeatures);
  preActivationMoments(xc.data, xc.offset, rows, inFeatures, direction, outFeatures, mean, variance);
  const gNew = new Float64Array(outFeatures);
  const biasNew = new Float64Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    const sigma = Math.sqrt(variance[o]);
    if (!(sigma > 0 && sigma < Infinity)) {
      throw new NormkitError(
        'E_DEGENERATE',
        `x: expected the pre-activations of unit ${o} to vary over the batch, got standard deviation ${sigma}`,
        'x',
      );
    }
    gNew[o] = 1 / sigma;
    biasNew[o] = -mean[o] / sigma;
  }
  const next: WeightNormLinearParams = { v, g: fromArray(gNew, [outFeatures], dtypeOf(g)) };
  return bias === null ? next : { ...next, bias: fromArray(biasNew, [outFeatures], dtypeOf(bias)) };
}

/**
 * The stateful {@link Layer} around {@link weightNormLinear}, with the paper's
 * data-dependent initialization.
 *
 * @example
 * ```ts
 * const fc = new WeightNormLinear({ inFeatures: 784, outFeatures: 100 }, { dtype: 'float64' });
 * fc.initFromBatch(firstBatch);   // pre-activations on it: mean 0, variance 1 per unit
 * const y = fc.forward(x);
 * ```
 */
export class WeightNormLinear extends Layer<WeightNormLinearTypes> {
  /**
   * @param options - `inFeatures`, `outFeatures`, and optionally `bias`, `eps`, `gInit`, `seed`, `initStd`
   * @param init - `dtype` of the parameters (default `'float32'`)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: WeightNormLinearInputOptions, init: LayerInit = {}) {
    super(weightNormLinear, options, init);
  }

  /**
   * Replaces `g` and `bias` by {@link initFromBatch} on `x`. Gradients are left as they are.
   *
   * @param x - one batch, `(..., inFeatures)`
   * @returns this layer
   * @throws NormkitError as {@link initFromBatch}; the layer is unchanged then
   */
  initFromBatch(x: Tensor): this {
    this.params = initFromBatch(this.params, x, this.options);
    return this;
  }

  /**
   * The current materialized weight `W = g·v/‖v‖`, `(out, in)` (see {@link materializeLinearWeight}).
   *
   * @returns a new tensor in the parameters' dtype
   * @throws NormkitError `E_DEGENERATE` when a row of `v` has zero norm and there is no eps
   */
  weight(): Tensor {
    return materializeLinearWeight(this.params, this.options);
  }
}

