import {
  CONTRACT_DTYPES,
  NormkitError,
  arrayTypeOf,
  assertTensor,
  checkForward,
  checkOut,
  defineNormalizer,
  dtypeOf,
  float64Values,
  fromArray,
  isContiguous,
  isTensor,
  ones,
  outputOf,
  rowMajorStrides,
  sizeOf,
  tensor,
  toContiguous,
  viewOf,
  zeros,
} from '@normkit/core';
import type { Dtype, NormalizerTypes, Tensor } from '@normkit/core';
import type { SliceStatistics } from '../direction.js';
import { sliceNorms, weightNormBackward } from '../direction.js';
import { VERSION } from '../version.js';
import { linearBackwardKernel, linearForwardKernel } from './matmul.js';
import type { WeightNormLinearInputOptions, WeightNormLinearOptions } from './options.js';
import { WEIGHT_NORM_LINEAR_NAME, linearForwardSpec, linearParamShapes, resolveWeightNormLinearOptions } from './options.js';
import { weightNormLinearOnnx } from './onnx.js';
import { weightNormLinearPyTorch } from './pytorch.js';
import { seededNormal } from './random.js';
import type { WeightNormLinearParams } from './weight.js';
import { rowPlan, rowStatistics, weightRows } from './weight.js';

/** What the dense forward pass hands to its backward pass. */
export interface WeightNormLinearSaved {
  /** The input, row-major contiguous (the given tensor when it already was). */
  readonly x: Tensor;
  /** The materialized `W = g·v/‖v‖`, `out × in` row-major, in float64. */
  readonly weight: Float64Array;
  /** The weight-norm statistics of `v` per output unit (center 0, `invStd = 1/‖v‖`). */
  readonly direction: SliceStatistics;
}

/** The type bag of {@link weightNormLinear}. */
export interface WeightNormLinearTypes extends NormalizerTypes {
  /** `'weight-norm-linear'`. */
  Name: typeof WEIGHT_NORM_LINEAR_NAME;
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

/**
 * A dense layer with a weight-normalized weight, as a plugin:
 *
 * $$y = x W^\top + b,\qquad W_{o,:} = g_o\,\frac{v_{o,:}}{\lVert v_{o,:} \rVert},\quad \lVert v_{o,:} \rVert = \sqrt{\textstyle\sum_i v_{oi}^2 + \epsilon}$$
 *
 * Input `(..., inFeatures)`, output `(..., outFeatures)`; parameters `v (out, in)`,
 * `g (out)` and `bias (out)` (absent with `bias: false`), all in the input's dtype. Backward
 * gives `dx = dy·W`, `dbias = Σ dy`, and `dv`, `dg` from `dW = dyᵀ·x` through weight norm's
 * backward on core's engine. The weight norm of the rows runs on the engine; the matrix
 * products are this layer's own.
 *
 * `init` draws `v` from N(0, initStd²) with the seeded generator (Salimans & Kingma), sets
 * `g = ‖v‖` (or 1 with `gInit: 'one'`) and `bias = 0`. See {@link initFromBatch} for the
 * paper's data-dependent initialization.
 *
 * @throws NormkitError from `create`: `E_OPTION` (see {@link resolveWeightNormLinearOptions}).
 *   From `forward`: `E_DTYPE` for non-float tensors or parameters of another dtype than `x`;
 *   `E_SHAPE` when the last axis of `x` is not `inFeatures`, a parameter is misshapen or `out`
 *   is not a row-major `(..., outFeatures)` tensor of `x`'s dtype with memory of its own;
 *   `E_STATE` for a missing or unexpected parameter or any state entry; `E_OPTION` for a mode
 *   other than `'train'`/`'eval'`; `E_DEGENERATE` for a zero row of `v` without eps. From
 *   `backward`: `E_SHAPE`/`E_DTYPE` for a `dy` that is not a float tensor shaped like `y`, a bad
 *   parameter or `out` (shaped like `x`), `E_STATE` for a `saved` that does not fit.
 * @example
 * ```ts
 * const fc = weightNormLinear.create({ inFeatures: 4, outFeatures: 3 });
 * const { params } = fc.init('float64');   // v ~ N(0, 0.05²), g = ‖v‖, bias = 0
 * const { y, saved } = fc.forward({ x, params, state: {}, mode: 'train' });
 * const { dx, grads } = fc.backward({ dy, params, saved });  // grads.v, .g, .bias
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
  // Wider layers: rows of 37 and 21 inputs, 19 and 6 output units.
  largeOptions: [
    { inFeatures: 37, outFeatures: 19 },
    { inFeatures: 21, outFeatures: 6, bias: false, gInit: 'one', seed: 7 },
  ],
  pytorch: weightNormLinearPyTorch,
  onnx: weightNormLinearOnnx,
  resolveOptions: resolveWeightNormLinearOptions,

  bind(options) {
    const { inFeatures, outFeatures } = options;
    const paramShapes = linearParamShapes(options);
    const spec = linearForwardSpec(options);
    const plan = rowPlan(options);
    const outputShape = (xShape: readonly number[]) => [...xShape.slice(0, -1), outFeatures];

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),

      init(dtype: Dtype = 'float32') {
        const next = seededNormal(options.seed);
        const values = new (arrayTypeOf(dtype))(outFeatures * inFeatures);
        for (let i = 0; i < values.length; i++) values[i] = options.initStd * next();
        const v = tensor(values, [outFeatures, inFeatures]);
        const g = options.gInit === 'norm' ? fromArray(sliceNorms(viewOf(v), plan, options.eps ?? 0), [outFeatures], dtype) : ones([outFeatures], dtype);
        const params: WeightNormLinearParams = options.bias ? { v, g, bias: zeros([outFeatures], dtype) } : { v, g };
        return { params, state: {} };
      },

      exampleShapes() {
        return [
          [5, inFeatures],
          [2, 3, inFeatures],
        ];
      },

      largeShapes() {
        // 67 and 65 rows of inputs.
        return [
          [67, inFeatures],
          [5, 13, inFeatures],
        ];
      },

      dtypes: CONTRACT_DTYPES,

      // No state: eval computes what train computes.
      modeIndependent: true,

      forward(args) {
        // `out` is shaped like y, not like x: checked here rather than by checkForward.
        const { x, dtype, params } = checkForward({ x: args.x, params: args.params, state: args.state, mode: args.mode }, spec);
        const yShape = outputShape(x.shape);
        const out = args.out === undefined ? undefined : checkOut(args.out, yShape, dtype, [x, ...Object.values(params)]);
        const direction = rowStatistics(params.v, plan, options);
        const weight = weightRows(params.v, plan, direction, float64Values(params.g), new Float64Array(outFeatures * inFeatures));
        const bias = params.bias === undefined ? null : float64Values(params.bias);
        const xc = isContiguous(x) ? x : toContiguous(x);
        const y = outputOf(out, yShape, dtype);
        linearForwardKernel(xc.data, xc.offset, sizeOf(x.shape) / inFeatures, inFeatures, weight, bias, outFeatures, y.data);
        return { y, state: args.state, saved: { x: xc, weight, direction } };
      },

      backward(args) {
        const { x, weight, direction } = checkSaved(args.saved, options);
        const dtype = dtypeOf(x);
        // The parameters through the one validation path, against the saved input.
        const { params } = checkForward({ x, params: args.params, state: {}, mode: 'train' }, spec);
        const dy = assertTensor(args.dy, 'dy', { shape: outputShape(x.shape) });
        const out = args.out === undefined ? undefined : checkOut(args.out, x.shape, dtype, [x, dy, ...Object.values(params)]);
        const dyc = isContiguous(dy) ? dy : toContiguous(dy);
        const dx = outputOf(out, x.shape, dtype);
        const dWeight = new Float64Array(outFeatures * inFeatures);
        const dBias = params.bias === undefined ? null : new Float64Array(outFeatures);
        const rows = sizeOf(x.shape) / inFeatures;
        linearBackwardKernel(x.data, x.offset, rows, inFeatures, weight, outFeatures, dyc.data, dyc.offset, dx.data, dWeight, dBias);
        const dv = zeros([outFeatures, inFeatures], dtype);
        const dWeightView = { data: dWeight, shape: plan.shape, strides: rowMajorStrides(plan.shape), offset: 0 };
        const dg = weightNormBackward(viewOf(params.v), dWeightView, plan, direction, float64Values(params.g), viewOf(dv));
        const grads: WeightNormLinearParams = { v: dv, g: fromArray(dg, [outFeatures], dtype) };
        return { dx, grads: dBias === null ? grads : { ...grads, bias: fromArray(dBias, [outFeatures], dtype) } };
      },
    };
  },
});

/** `saved` of a forward call with these options, or `E_STATE`. */
function checkSaved(saved: unknown, options: WeightNormLinearOptions): WeightNormLinearSaved {
  const { inFeatures, outFeatures } = options;
  const s = (typeof saved === 'object' && saved !== null ? saved : {}) as Partial<WeightNormLinearSaved>;
  const d = (typeof s.direction === 'object' && s.direction !== null ? s.direction : {}) as Partial<SliceStatistics>;
  const perUnit = (a: unknown) => a instanceof Float64Array && a.length === outFeatures;
  const ok =
    isTensor(s.x) &&
    s.x.shape.length >= 1 &&
    s.x.shape[s.x.shape.length - 1] === inFeatures &&
    isContiguous(s.x) &&
    s.weight instanceof Float64Array &&
    s.weight.length === outFeatures * inFeatures &&
    perUnit(d.center) &&
    perUnit(d.invStd) &&
    (d.inputScale === null || perUnit(d.inputScale));
  if (!ok) {
    throw new NormkitError('E_STATE', `saved: expected the saved value of a ${WEIGHT_NORM_LINEAR_NAME} forward call with these options, got something else`, 'saved');
  }
  return saved as WeightNormLinearSaved;
}
