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
import type { BoundNormalizer, ForwardSpec, NormBackwardBinding, NormSaved, Normalizer, NormalizerTypes, Shape } from '@normkit/core';
import type { RmsNormInputOptions, RmsNormOptions } from './options.js';
import { epsFor, resolveRmsNormOptions } from './options.js';
import { rmsNormKeras } from './keras.js';
import { rmsNormOnnx } from './onnx.js';
import { rmsNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/** γ as float64 within one forward call (handed to the engine's kernels, never returned). */
const forwardParamScratch = new Float64Scratch(1);

/**
 * What RMS norm's forward keeps for backward (core's {@link NormSaved}): the input by reference
 * and, per row, `center = 0` and `invStd` = $`1/\sqrt{\tfrac1H\sum x^2 + \epsilon}`$ (PyTorch's
 * `rstd`), row-major over the leading axes.
 */
export type RmsNormSaved = NormSaved;

/** The type bag of the RMS-norm plugin. */
export interface RmsNormTypes extends NormalizerTypes {
  /** `'rms-norm'`. */
  Name: 'rms-norm';
  /** See {@link RmsNormInputOptions}. */
  InputOptions: RmsNormInputOptions;
  /** See {@link RmsNormOptions}. */
  Options: RmsNormOptions;
  /** γ of shape `normalizedShape` when `elementwiseAffine` is on; RMS norm has no bias. */
  Params: 'weight';
  /** RMS norm keeps no state. */
  State: never;
  /** See {@link RmsNormSaved}. */
  Saved: RmsNormSaved;
}

/** The LaTeX forward formula (also in `rmsNorm.meta.formula`). */
export const RMS_NORM_FORMULA = 'y = \\frac{x}{\\sqrt{\\tfrac1H \\sum_j x_j^2 + \\epsilon}} \\odot \\gamma';

/**
 * RMS normalization (Zhang & Sennrich 2019) with PyTorch's semantics (`nn.RMSNorm`), as a
 * normkit plugin on the normalization engine: layer norm's plan without the mean. For an input
 * whose trailing axes equal `normalizedShape` (H elements per row):
 *
 * $$y_{rj} = \frac{x_{rj}}{\sqrt{\tfrac1H \sum_k x_{rk}^2 + \epsilon}}\,\gamma_j$$
 *
 * with ε inside the square root, no centering and no bias; `eps: null` (the default) is the
 * input dtype's machine epsilon, as PyTorch's `eps=None`. Train and eval compute the same.
 *
 * The optional second-order member `doubleBackward` (the VJP of `backward`, core's
 * `normalizeDoubleBackward`, uncentered) is implemented.
 *
 * @throws NormkitError from `create`: `E_OPTION` (see {@link resolveRmsNormOptions}). From
 *   `forward`: `E_SHAPE` (trailing shape ≠ normalizedShape, misshapen weight or `out`),
 *   `E_DTYPE`, `E_STATE`, `E_OPTION` for a bad mode. From `backward`: `E_SHAPE` / `E_DTYPE` for
 *   a bad `dy`, `E_STATE` for a `saved` that does not fit.
 * @example
 * ```ts
 * const rms = rmsNorm.create({ normalizedShape: [8] });
 * const { params, state } = rms.init('float64');
 * const { y, saved } = rms.forward({ x, params, state, mode: 'train' });
 * const { dx, grads } = rms.backward({ dy, params, saved });
 * ```
 */
export const rmsNorm: Normalizer<RmsNormTypes> = defineNormalizer<RmsNormTypes>({
  meta: {
    name: 'rms-norm',
    version: VERSION,
    description: 'RMS normalization: each row divided by its root mean square over the trailing normalizedShape axes, then a per-element scale (PyTorch semantics).',
    formula: RMS_NORM_FORMULA,
  },
  modes: ['train'],
  exampleOptions: [{ normalizedShape: [5] }, { normalizedShape: [3, 2], elementwiseAffine: false }, { normalizedShape: [4], eps: 1e-3 }],
  // Besides the examples, rows of 37 features and a 66-element normalized shape without a weight.
  largeOptions: [
    { normalizedShape: [5] },
    { normalizedShape: [3, 2], elementwiseAffine: false },
    { normalizedShape: [4], eps: 1e-3 },
    { normalizedShape: [37] },
    { normalizedShape: [6, 11], elementwiseAffine: false },
  ],
  pytorch: rmsNormPyTorch,
  keras: rmsNormKeras,
  onnx: rmsNormOnnx,
  resolveOptions: resolveRmsNormOptions,

  bind(options) {
    const normalizedShape = options.normalizedShape;
    const paramShapes: { weight?: Shape } = options.elementwiseAffine ? { weight: normalizedShape.slice() } : {};
    const shapeProblem = (shape: Shape) => trailingShapeProblem(shape, normalizedShape, 'normalizedShape');
    const spec: ForwardSpec = { plugin: 'rms-norm', checkShape: shapeProblem, paramShapes, stateShapes: {} };
    const leadingRank = (shape: Shape) => shape.length - normalizedShape.length;
    const plans = planCache((shape) => {
      const lead = leadingRank(shape);
      const groupAxes = shape.slice(0, lead).map((_, k) => k);
      return planNormalization(shape, groupAxes, options.elementwiseAffine ? normalizedShape.map((_, j) => lead + j) : null);
    });

    const backwardBinding: NormBackwardBinding = {
      spec,
      fits: shapeProblem,
      groupsOf: (shape) => sizeOf(shape.slice(0, leadingRank(shape))),
      plans,
      paramShape: normalizedShape,
      centered: false,
      alwaysBatchStats: true,
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),

      init(dtype = 'float32') {
        return { params: options.elementwiseAffine ? { weight: full(normalizedShape, dtype, 1) } : {}, state: {} };
      },

      exampleShapes() {
        return [[3, ...normalizedShape], [2, 2, ...normalizedShape]];
      },

      largeShapes() {
        // 67 and 65 rows: the rows layout takes four rows at a time, with remainders 3 and 1.
        return [[67, ...normalizedShape], [5, 13, ...normalizedShape]];
      },

      dtypes: CONTRACT_DTYPES,

      // RMS norm has no running statistics: eval computes what train computes.
      modeIndependent: true,

      forward(args) {
        const { x, dtype, params, out } = checkForward(args, spec);
        const plan = plans(x.shape);
        const y = outputOf(out, x.shape, dtype);
        const weight = paramValues(params.weight, forwardParamScratch, 0);
        const stats = normalizeBatch(viewOf(x), plan, false, epsFor(options, dtype), weight, null, viewOf(y));
        return { y, state: args.state, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true } };
      },

      // eps: null means the dtype's machine epsilon: a float32 call is compared with a float64
      // call at float32's epsilon.
      float64Reference: (dtype): BoundNormalizer<RmsNormTypes> =>
        rmsNorm.create({ normalizedShape: options.normalizedShape, eps: epsFor(options, dtype), elementwiseAffine: options.elementwiseAffine }),

      backward: (args) => normBackward(backwardBinding, args),

      doubleBackward: (args) => normDoubleBackward(backwardBinding, args),
    };
  },
});
