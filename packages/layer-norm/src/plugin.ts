import {
  normBackward,
  normDoubleBackward,
  CONTRACT_DTYPES,
  checkForward,
  defineNormalizer,
  paramValues,
  Float64Scratch,
  full,
  normalizeBatch,
  outputOf,
  planCache,
  planNormalization,
  sizeOf,
  trailingShapeProblem,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, Invariant, NormBackwardBinding, NormSaved, NormalizerTypes, Shape, Tensor } from '@normkit/core';
import type { LayerNormInputOptions, LayerNormOptions } from './options.js';
import { hasBias, hasWeight, resolveLayerNormOptions } from './options.js';
import { layerNormKeras } from './keras.js';
import { layerNormOnnx } from './onnx.js';
import { layerNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/** γ and β as float64 within one forward call (handed to the engine's kernels, never returned). */
const forwardParamScratch = new Float64Scratch(2);

/**
 * What layer norm's forward pass hands to its backward pass (core's {@link NormSaved}): the
 * input by reference and, per row, the mean (`center`) and `1/√(var + eps)` (`invStd`), in
 * float64, row-major over the leading axes: 16 bytes per row (a 4096 × 768 activation keeps
 * 64 KiB). `center` and `invStd` are what ONNX's `LayerNormalization` returns as its optional
 * `Mean` and `InvStdDev` outputs. Do not mutate `x` before `backward`.
 */
export type LayerNormSaved = NormSaved;

/** Layer norm's type bag for core's `Normalizer` contract. */
export interface LayerNormTypes extends NormalizerTypes {
  /** `'layer-norm'`. */
  Name: 'layer-norm';
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

/**
 * Layer normalization (Ba, Kiros & Hinton 2016) with PyTorch's semantics
 * (`torch.nn.LayerNorm`), as a normkit plugin on the normalization engine: statistics per
 * row (the leading axes), parameters per element of the trailing `normalizedShape`.
 *
 * For an input whose trailing axes equal `normalizedShape` (`H = Π normalizedShape`
 * elements per row; every leading index is a row):
 *
 * $$\mu_r = \tfrac1H\textstyle\sum_j x_{rj},\quad \sigma_r^2 = \tfrac1H\textstyle\sum_j (x_{rj}-\mu_r)^2,\quad
 *   y_{rj} = \frac{x_{rj}-\mu_r}{\sqrt{\sigma_r^2+\epsilon}}\,\gamma_j + \beta_j$$
 *
 * Biased variance, `eps` inside the square root, statistics in float64. Train and eval are
 * identical (no running statistics): `modes` lists only `'train'`, and `forward` accepts
 * `'eval'` and computes the same. NaN or ±Infinity in a row propagates to that row's output
 * and to the parameter gradients; it raises no error and leaves the other rows alone.
 *
 * The optional second-order member `doubleBackward` (the VJP of `backward`, core's
 * `normalizeDoubleBackward`) is implemented.
 *
 * @throws NormkitError from `forward`, before anything is computed: `E_DTYPE` when `x` or a
 *   parameter is not a Float32/Float64 ndarray of one dtype; `E_SHAPE` when `x`'s trailing
 *   shape is not `normalizedShape`, a parameter's shape is not `normalizedShape`, or `out`
 *   does not fit or shares memory with `x` or a parameter; `E_STATE` for a missing or
 *   unexpected parameter or a non-empty state; `E_OPTION` for a bad mode. From `backward`:
 *   `E_DTYPE`/`E_SHAPE` for a `dy` that is not a float tensor of `x`'s shape; `E_STATE` when
 *   `saved` does not fit. From `create`: `E_OPTION` (see {@link resolveLayerNormOptions}).
 * @example
 * ```ts
 * const ln = layerNorm.create({ normalizedShape: [4] });
 * const { params, state } = ln.init('float64');
 * const { y, saved } = ln.forward({ x, params, state, mode: 'train' });
 * const { dx, grads } = ln.backward({ dy, params, saved });
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
  exampleOptions: [{ normalizedShape: [5] }, { normalizedShape: [3, 4], elementwiseAffine: false }, { normalizedShape: [4], bias: false }],
  // Besides the examples, rows of 37 features and a 66-element normalized shape without affine
  // (the planes layout with runs of 66).
  largeOptions: [
    { normalizedShape: [5] },
    { normalizedShape: [3, 4], elementwiseAffine: false },
    { normalizedShape: [4], bias: false },
    { normalizedShape: [37] },
    { normalizedShape: [6, 11], elementwiseAffine: false },
  ],
  pytorch: layerNormPyTorch,
  keras: layerNormKeras,
  onnx: layerNormOnnx,
  resolveOptions: resolveLayerNormOptions,

  bind(options) {
    const normalizedShape = options.normalizedShape;
    const paramShapes: { weight?: Shape; bias?: Shape } = {};
    if (hasWeight(options)) paramShapes.weight = normalizedShape.slice();
    if (hasBias(options)) paramShapes.bias = normalizedShape.slice();
    const shapeProblem = (shape: Shape) => trailingShapeProblem(shape, normalizedShape, 'normalizedShape');
    const spec: ForwardSpec = { plugin: 'layer-norm', checkShape: shapeProblem, paramShapes, stateShapes: {} };
    const leadingRank = (shape: Shape) => shape.length - normalizedShape.length;
    const plans = planCache((shape) => {
      const lead = leadingRank(shape);
      const groupAxes = shape.slice(0, lead).map((_, k) => k);
      const paramAxes = options.elementwiseAffine ? normalizedShape.map((_, j) => lead + j) : null;
      return planNormalization(shape, groupAxes, paramAxes);
    });

    const backwardBinding: NormBackwardBinding = {
      spec,
      fits: shapeProblem,
      groupsOf: (shape) => sizeOf(shape.slice(0, leadingRank(shape))),
      plans,
      paramShape: normalizedShape,
      centered: true,
      alwaysBatchStats: true,
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),

      init(dtype = 'float32') {
        const params: { weight?: Tensor; bias?: Tensor } = {};
        if (paramShapes.weight !== undefined) params.weight = full(normalizedShape, dtype, 1);
        if (paramShapes.bias !== undefined) params.bias = full(normalizedShape, dtype, 0);
        return { params, state: {} };
      },

      exampleShapes() {
        return [[3, ...normalizedShape], [2, 2, ...normalizedShape]];
      },

      largeShapes() {
        // 67 and 65 rows: the rows layout takes four rows at a time, with remainders 3 and 1.
        return [[67, ...normalizedShape], [5, 13, ...normalizedShape]];
      },

      dtypes: CONTRACT_DTYPES,

      // Layer norm has no running statistics: eval computes what train computes.
      modeIndependent: true,

      invariants(_mode, xShape): readonly Invariant[] {
        const lead = leadingRank(xShape);
        return [{ kind: 'zero-sum', reduceAxes: normalizedShape.map((_, j) => lead + j) }];
      },

      forward(args) {
        const { x, dtype, params, out } = checkForward(args, spec);
        const plan = plans(x.shape);
        const y = outputOf(out, x.shape, dtype);
        const weight = paramValues(params.weight, forwardParamScratch, 0);
        const bias = paramValues(params.bias, forwardParamScratch, 1);
        const stats = normalizeBatch(viewOf(x), plan, true, options.eps, weight, bias, viewOf(y));
        return { y, state: args.state, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true } };
      },

      backward: (args) => normBackward(backwardBinding, args),

      doubleBackward: (args) => normDoubleBackward(backwardBinding, args),
    };
  },
});
