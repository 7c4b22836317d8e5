import { VERSION } from './version.js';
import { getLayerNormBackend } from './backend.js';
import type { LayerNormBackend } from './backend.js';
import {
  NormkitError,
  assertMode,
  assertTensor,
  assertTensorMap,
  defineNormalizer,
  describeValue,
  dtypeOf,
  formatShape,
  fromArray,
  isContiguous,
  isTensor,
  ones,
  outputTensor,
  shapesEqual,
  sizeOf,
  tensor,
  toContiguous,
  zeros,
} from '@normkit/core';
import type { Dtype, NormalizerTypes, Shape, Tensor } from '@normkit/core';
import { layerNormBackwardKernel } from './kernels/backward.js';
import { layerNormForwardKernel, rowStatisticsKernel } from './kernels/forward.js';
import type { LayerNormInputOptions, LayerNormOptions } from './options.js';
import { hasBias, hasWeight, resolveLayerNormOptions } from './options.js';

/**
 * What layer norm's forward pass hands to its backward pass.
 *
 * Memory: `x` is the caller's input itself (a reference, not a copy: no extra memory,
 * but it **must not be mutated** before `backward`); `mean` and `invStd` cost
 * 8 bytes each per row, 16 bytes per row in all (a 4096 × 768 activation keeps 64 KiB).
 * `mean` and `invStd` are what ONNX's `LayerNormalization` returns as its optional
 * `Mean` and `InvStdDev` outputs (ONNX keeps size-1 normalized axes; here they are dropped).
 */
export interface LayerNormSaved {
  /** The forward input, by reference (any strides). Do not mutate it before `backward`. */
  readonly x: Tensor;
  /** Per-row mean, float64, with the leading shape `x.shape[0 .. rank − D)`. */
  readonly mean: Tensor;
  /** Per-row `1/√(var + eps)` with the biased variance, float64, with the leading shape. */
  readonly invStd: Tensor;
}

/** Layer norm's type bag for core's `Normalizer` contract. */
export interface LayerNormTypes extends NormalizerTypes {
  /** See {@link LayerNormInputOptions}. */
  InputOptions: LayerNormInputOptions;
  /** See {@link LayerNormOptions}. */
  Options: LayerNormOptions;
  /** `weight` (γ) and `bias` (β), each of shape `normalizedShape`, when the options have them. */
  Params: 'weight' | 'bias';
  /** Layer norm keeps no running statistics. */
  State: never;
  /** See {@link LayerNormSaved}. */
  Saved: LayerNormSaved;
}

/** The LaTeX forward formula (also in `layerNorm.meta.formula`). */
export const LAYER_NORM_FORMULA =
  'y = \\frac{x - \\mathrm{E}[x]}{\\sqrt{\\mathrm{Var}[x] + \\epsilon}} \\odot \\gamma + \\beta,' +
  '\\quad \\mathrm{E},\\ \\mathrm{Var}\\ \\text{(biased) over the trailing } \\texttt{normalizedShape} \\text{ axes of each row}';

/** The trailing-shape check shared by `forward` and the saved context. */
function trailingShapeProblem(shape: Shape, normalizedShape: Shape): string | null {
  const normalizedRank = normalizedShape.length;
  if (shape.length < normalizedRank) {
    return `expected rank ≥ ${normalizedRank} ending in normalizedShape ${formatShape(normalizedShape)}, got rank ${shape.length} (shape ${formatShape(shape)})`;
  }
  const trailing = shape.slice(shape.length - normalizedRank);
  if (!shapesEqual(trailing, normalizedShape)) {
    return `expected trailing shape ${formatShape(normalizedShape)} (normalizedShape), got shape ${formatShape(shape)} whose last ${normalizedRank} axes are ${formatShape(trailing)}`;
  }
  return null;
}

function checkInput(x: unknown, options: LayerNormOptions): Tensor {
  const input = assertTensor(x, 'x');
  const problem = trailingShapeProblem(input.shape, options.normalizedShape);
  if (problem !== null) throw new NormkitError('E_SHAPE', `x: ${problem}`, 'x');
  return input;
}

interface AffineParams {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
}

function checkParams(params: unknown, options: LayerNormOptions): AffineParams {
  const expected: Record<string, readonly number[]> = {};
  if (hasWeight(options)) expected.weight = options.normalizedShape;
  if (hasBias(options)) expected.bias = options.normalizedShape;
  const found = assertTensorMap(params, expected, 'params');
  return { weight: found.weight, bias: found.bias };
}

function checkSaved(saved: unknown, options: LayerNormOptions): LayerNormSaved {
  if (typeof saved !== 'object' || saved === null) {
    throw new NormkitError('E_STATE', `saved: expected the saved value of a layer-norm forward call, got ${describeValue(saved)}`, 'saved');
  }
  const { x, mean, invStd } = saved as Partial<Record<keyof LayerNormSaved, unknown>>;
  if (!isTensor(x)) {
    throw new NormkitError('E_STATE', `saved.x: expected the forward input tensor, got ${describeValue(x)}`, 'saved.x');
  }
  const problem = trailingShapeProblem(x.shape, options.normalizedShape);
  if (problem !== null) throw new NormkitError('E_STATE', `saved.x: ${problem}; was it saved with other options?`, 'saved.x');
  const leadingShape = x.shape.slice(0, x.shape.length - options.normalizedShape.length);
  for (const [name, value] of [['mean', mean], ['invStd', invStd]] as const) {
    let fits = isTensor(value) && dtypeOf(value) === 'float64' && shapesEqual(value.shape, leadingShape);
    if (fits) {
      try {
        assertTensor(value, `saved.${name}`, { shape: leadingShape, dtype: 'float64' });
      } catch {
        fits = false; // strides or offset outside its buffer
      }
    }
    if (!fits) {
      throw new NormkitError(
        'E_STATE',
        `saved.${name}: expected a float64 tensor of the leading shape ${formatShape(leadingShape)}, got ${isTensor(value) ? `a ${dtypeOf(value)} tensor of shape ${formatShape(value.shape)}` : describeValue(value)}`,
        `saved.${name}`,
      );
    }
  }
  return { x, mean: mean as Tensor, invStd: invStd as Tensor };
}

/** A parameter's values as a row-major float64 vector, or `fill` when it is absent. */
function featureVector(param: Tensor | undefined, featureCount: number, fill: number): Float64Array {
  if (param === undefined) return new Float64Array(featureCount).fill(fill);
  return toContiguous(param, 'float64').data as Float64Array;
}

/** A per-row float64 vector of a saved tensor, row-major (no copy when already so). */
function rowVector(t: Tensor): Float64Array {
  if (!isContiguous(t)) return toContiguous(t, 'float64').data as Float64Array;
  const rowCount = sizeOf(t.shape);
  const data = t.data as Float64Array;
  return t.offset === 0 && data.length === rowCount ? data : data.subarray(t.offset, t.offset + rowCount);
}

/** The output buffer: the caller's `out` (checked), else the backend's memory, else the JS heap. */
function outputFor(backend: LayerNormBackend | null, out: Tensor | undefined, shape: Shape, dtype: Dtype, inputs: readonly Tensor[]): Tensor {
  if (out === undefined && backend?.allocate !== undefined) {
    const pooled = backend.allocate(shape, dtype);
    if (pooled !== null) return pooled;
  }
  return outputTensor(out, shape, dtype, 'out', inputs);
}

/**
 * Layer normalization (Ba, Kiros & Hinton 2016) with PyTorch's semantics
 * (`torch.nn.LayerNorm`), as a normkit plugin.
 *
 * For an input whose trailing axes equal `normalizedShape` (`H = Π normalizedShape`
 * elements per row; every leading index is a row):
 *
 * $$\mu_r = \tfrac1H\textstyle\sum_j x_{rj},\quad \sigma_r^2 = \tfrac1H\textstyle\sum_j (x_{rj}-\mu_r)^2,\quad
 *   y_{rj} = \frac{x_{rj}-\mu_r}{\sqrt{\sigma_r^2+\epsilon}}\,\gamma_j + \beta_j$$
 *
 * Biased variance, `eps` inside the square root, statistics from core's stable two-pass
 * kernel in float64. Train and eval are identical (no running statistics): `modes` lists
 * only `'train'`, and `forward` accepts `'eval'` and computes the same. NaN or ±Infinity
 * in a row propagates to that row's output (NaN) and to the parameter gradients; it
 * raises no error and leaves the other rows' outputs alone.
 *
 * - `forward` returns a new row-major `y` with `x`'s dtype, the given state, and
 *   `saved = { x, mean, invStd }` (see {@link LayerNormSaved}).
 * - `backward` returns `dx` (x's dtype) and `grads.weight` / `grads.bias` (each with its
 *   parameter's dtype and shape, summed over the leading axes).
 *
 * @throws NormkitError from `forward`, before anything is computed:
 *   `E_DTYPE` when `x` or a parameter is not a Float32/Float64 ndarray;
 *   `E_SHAPE` when `x`'s trailing shape is not `normalizedShape` (naming both shapes),
 *   its rank is smaller than `normalizedShape.length`, or a parameter's shape is not
 *   `normalizedShape`; `E_STATE` for a missing or unexpected parameter or a non-empty
 *   state; `E_OPTION` for a mode other than `'train'`/`'eval'`; `E_SHAPE`/`E_DTYPE` for an
 *   `out` that is not a row-major tensor of `x`'s shape and dtype, or that overlaps `x`.
 *   From `backward`: `E_DTYPE`/`E_SHAPE` when `dy` is not a float tensor of `x`'s shape or
 *   `out` does not fit; `E_STATE` when `saved` does not fit the options. From
 *   `resolveOptions`: `E_OPTION` (see {@link resolveLayerNormOptions}).
 * @example
 * ```ts
 * const options = layerNorm.resolveOptions({ normalizedShape: [4] });
 * const { params, state } = layerNorm.init(options, 'float64');
 * const { y, saved } = layerNorm.forward({ x, params, state, mode: 'train' }, options);
 * const { dx, grads } = layerNorm.backward({ dy, params, saved }, options);
 * ```
 */
export const layerNorm = defineNormalizer<LayerNormTypes>({
  meta: {
    name: 'layer-norm',
    version: VERSION,
    description: 'Layer normalization: per-row mean and biased variance over the trailing normalizedShape axes, then a per-element affine (PyTorch semantics).',
    formula: LAYER_NORM_FORMULA,
  },
  modes: ['train'],
  exampleOptions: [
    { normalizedShape: [5] },
    { normalizedShape: [3, 4], elementwiseAffine: false },
    { normalizedShape: [4], bias: false },
  ],

  resolveOptions: resolveLayerNormOptions,

  paramShapes(options) {
    const shapes: { weight?: Shape; bias?: Shape } = {};
    if (hasWeight(options)) shapes.weight = options.normalizedShape.slice();
    if (hasBias(options)) shapes.bias = options.normalizedShape.slice();
    return shapes;
  },

  stateShapes: () => ({}),

  init(options, dtype: Dtype = 'float32') {
    const params: { weight?: Tensor; bias?: Tensor } = {};
    if (hasWeight(options)) params.weight = ones(options.normalizedShape, dtype);
    if (hasBias(options)) params.bias = zeros(options.normalizedShape, dtype);
    return { params, state: {} };
  },

  exampleShapes: (options) => [
    [3, ...options.normalizedShape],
    [2, 3, ...options.normalizedShape],
    [...options.normalizedShape],
  ],

  invariants(options, _mode, xShape) {
    const reduceAxes: number[] = [];
    for (let axis = xShape.length - options.normalizedShape.length; axis < xShape.length; axis++) reduceAxes.push(axis);
    return [{ kind: 'zero-sum', reduceAxes }];
  },

  forward({ x, params, state, mode, out }, options) {
    assertMode(mode, 'layer-norm');
    assertTensorMap(state, {}, 'state');
    const input = checkInput(x, options);
    const { weight, bias } = checkParams(params, options);

    const leadingRank = input.shape.length - options.normalizedShape.length;
    const leadingShape = input.shape.slice(0, leadingRank);
    const rowCount = sizeOf(leadingShape);
    const featureCount = sizeOf(options.normalizedShape);
    const backend = getLayerNormBackend();
    const y = outputFor(backend, out, input.shape, dtypeOf(input), [input]);
    const mean = new Float64Array(rowCount);
    const invStd = new Float64Array(rowCount);
    if (backend?.statistics?.(input, leadingRank, options.eps, mean, invStd) !== true) {
      rowStatisticsKernel(input.data, input.shape, input.stride, input.offset, leadingRank, options.eps, mean, invStd);
    }
    const scale = featureVector(weight, featureCount, 1);
    const shift = featureVector(bias, featureCount, 0);
    if (backend?.forward?.(input, leadingRank, mean, invStd, scale, shift, y) !== true) {
      layerNormForwardKernel(input.data, input.shape, input.stride, input.offset, leadingRank, mean, invStd, scale, shift, y.data);
    }
    const saved: LayerNormSaved = { x: input, mean: tensor(mean, leadingShape), invStd: tensor(invStd, leadingShape) };
    return { y, state, saved };
  },

  backward({ dy, params, saved, out }, options) {
    const { x, mean, invStd } = checkSaved(saved, options);
    const upstream = assertTensor(dy, 'dy', { shape: x.shape });
    const { weight, bias } = checkParams(params, options);

    const leadingRank = x.shape.length - options.normalizedShape.length;
    const featureCount = sizeOf(options.normalizedShape);
    const backend = getLayerNormBackend();
    const dx = outputFor(backend, out, x.shape, dtypeOf(x), [x, upstream]);
    const dscale = new Float64Array(featureCount);
    const dshift = new Float64Array(featureCount);
    const rowMean = rowVector(mean);
    const rowInvStd = rowVector(invStd);
    const scale = featureVector(weight, featureCount, 1);
    if (backend?.backward?.(x, upstream, leadingRank, rowMean, rowInvStd, scale, dx, dscale, dshift) !== true) {
      layerNormBackwardKernel(
        x.data,
        x.shape,
        x.stride,
        x.offset,
        upstream.data,
        upstream.stride,
        upstream.offset,
        leadingRank,
        rowMean,
        rowInvStd,
        scale,
        dx.data,
        dscale,
        dshift,
      );
    }
    const grads: { weight?: Tensor; bias?: Tensor } = {};
    if (weight !== undefined) grads.weight = fromArray(dscale, options.normalizedShape, dtypeOf(weight));
    if (bias !== undefined) grads.bias = fromArray(dshift, options.normalizedShape, dtypeOf(bias));
    return { dx, grads };
  },
});
