// rms-norm.ts: RMS normalization as a normkit plugin, written against @normkit/core only.
import {
  batchStatistics,
  booleanOption,
  checkBackward,
  checkForward,
  checkNormSaved,
  defineNormalizer,
  dtypeOf,
  float64Values,
  fromArray,
  full,
  normalizeBackward,
  normalizeForward,
  numberOption,
  outputOf,
  pickOptions,
  planCache,
  planNormalization,
  readOptions,
  shapeOption,
  sizeOf,
  trailingShapeProblem,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, NormSaved, NormalizerTypes, Shape } from '@normkit/core';

/** What a user may pass. */
export interface RmsNormInputOptions {
  /** The trailing shape normalized over, e.g. `768` or `[4, 5]`. */
  normalizedShape: number | readonly number[];
  /** Added to mean(x²) inside the square root. Default `1e-6`. */
  eps?: number;
  /** Learn a per-element scale `weight` (γ, init 1). Default `true`. */
  elementwiseAffine?: boolean;
}

/** The options `bind` receives: validated, defaults filled in. */
export interface RmsNormOptions {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
}

/** The type bag: name, options, the parameter names, no state, the saved value. */
export interface RmsNormTypes extends NormalizerTypes {
  Name: 'rms-norm';
  InputOptions: RmsNormInputOptions;
  Options: RmsNormOptions;
  Params: 'weight';
  State: never;
  /** The input, and per row: center 0 and r = 1/√(mean(x²) + ε), in float64. */
  Saved: NormSaved;
}

const NAME = 'rms-norm';

/**
 * RMS norm over the trailing axes: y = x / √(mean(x²) + ε) · γ.
 * No mean is subtracted and there is no bias (Zhang & Sennrich, 2019).
 */
export const rmsNorm = defineNormalizer<RmsNormTypes>({
  meta: {
    name: NAME,
    version: '1.0.0',
    description: 'Root-mean-square normalization over the trailing axes, with a per-element scale.',
    formula: 'y = \\frac{x}{\\sqrt{\\operatorname{mean}(x^2) + \\epsilon}} \\odot \\gamma',
  },
  modes: ['train'], // no running statistics: eval computes the same
  exampleOptions: [{ normalizedShape: 4 }, { normalizedShape: [2, 3], eps: 1e-5 }, { normalizedShape: 5, elementwiseAffine: false }],
  // The `rms_norm` cases of the PyTorch vectors use our option names.
  pytorch: {
    layer: 'rms_norm',
    stateDict: { weight: 'weight' },
    options: (caseOptions) => pickOptions<RmsNormInputOptions>(caseOptions, ['normalizedShape', 'eps', 'elementwiseAffine']),
  },

  resolveOptions(input) {
    const o = readOptions(input, ['normalizedShape', 'eps', 'elementwiseAffine'], NAME);
    return {
      normalizedShape: shapeOption(o, 'normalizedShape', NAME),
      eps: numberOption(o, 'eps', 1e-6, { greaterThan: 0 }, NAME),
      elementwiseAffine: booleanOption(o, 'elementwiseAffine', true, NAME),
    };
  },

  bind(options) {
    const { normalizedShape, eps, elementwiseAffine } = options;
    const paramShapes: { weight?: Shape } = elementwiseAffine ? { weight: normalizedShape } : {};
    const shapeProblem = (shape: Shape) => trailingShapeProblem(shape, normalizedShape, 'normalizedShape');
    // What core's validation checks: x ends in normalizedShape, the parameters, no state.
    const spec: ForwardSpec = { plugin: NAME, checkShape: shapeProblem, paramShapes, stateShapes: {} };
    const leadingRank = (shape: Shape) => shape.length - normalizedShape.length; // the row axes
    // Statistics per row (the leading axes), γ per element of the trailing axes.
    const plans = planCache((shape) => {
      const lead = leadingRank(shape);
      const rowAxes = shape.slice(0, lead).map((_, k) => k);
      return planNormalization(shape, rowAxes, elementwiseAffine ? normalizedShape.map((_, j) => lead + j) : null);
    });

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),
      init: (dtype = 'float32') => ({ params: elementwiseAffine ? { weight: full(normalizedShape, dtype, 1) } : {}, state: {} }),
      exampleShapes: () => [[3, ...normalizedShape], [2, 2, ...normalizedShape]],

      forward(args) {
        // Validate everything before computing anything.
        const { x, dtype, params, out } = checkForward(args, spec);
        const plan = plans(x.shape);
        // Uncentered statistics: center 0, variance = mean(x²), invStd = r per row.
        const stats = batchStatistics(viewOf(x), plan, false, eps);
        const y = outputOf(out, x.shape, dtype);
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        normalizeForward(viewOf(x), plan, stats, weight, null, viewOf(y));
        return { y, state: args.state, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true } };
      },

      backward(args) {
        const saved = checkNormSaved(args.saved, NAME, shapeProblem, (shape) => sizeOf(shape.slice(0, leadingRank(shape))));
        const { x } = saved;
        const { dy, params, out } = checkBackward(args, x, spec);
        const plan = plans(x.shape);
        const dx = outputOf(out, x.shape, dtypeOf(x));
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        // dx = r·g − x·r³·mean(x ⊙ g) with g = dy ⊙ γ;  Σ dy·x̂ per element is dγ.
        const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, saved, weight, { centered: false, batchStats: true }, viewOf(dx));
        const grads = sums === null || params.weight === undefined ? {} : { weight: fromArray(sums.sumDyXhat, normalizedShape, dtypeOf(x)) };
        return { dx, grads };
      },
    };
  },
});

// `normkit gradcheck path/to/rms-norm.js` loads the default export.
export default rmsNorm;
