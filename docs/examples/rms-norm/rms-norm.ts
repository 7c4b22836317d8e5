// rms-norm.ts: RMS normalization as a normkit plugin, written against @normkit/core only.
import {
  NormkitError,
  assertSameShape,
  assertTensor,
  assertTensorMap,
  booleanOption,
  defineNormalizer,
  dtypeOf,
  formatShape,
  fromArray,
  numberOption,
  ones,
  readOptions,
  shapeOption,
  sizeOf,
  toTypedArray,
} from '@normkit/core';
import type { Dtype, NormalizerTypes, Tensor } from '@normkit/core';

/** What a user may pass. */
export interface RmsNormInputOptions {
  /** The trailing shape normalized over, e.g. `768` or `[4, 5]`. */
  normalizedShape: number | readonly number[];
  /** Added to mean(x²) inside the square root. Default `1e-6`. */
  eps?: number;
  /** Learn a per-element scale `weight` (γ, init 1). Default `true`. */
  elementwiseAffine?: boolean;
}

/** The options every other method receives: validated, defaults filled in. */
export interface RmsNormOptions {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
}

/** What forward hands to backward: the input and one number per row. */
export interface RmsNormSaved {
  readonly x: Tensor;
  /** r = 1/√(mean(x²) + ε) for each row, in float64. */
  readonly invRms: Float64Array;
}

/** The type bag: options, the parameter names, no state, the saved value. */
export interface RmsNormTypes extends NormalizerTypes {
  InputOptions: RmsNormInputOptions;
  Options: RmsNormOptions;
  Params: 'weight';
  State: never;
  Saved: RmsNormSaved;
}

const NAME = 'rms-norm';

/** Splits x into rows of H = ∏ normalizedShape values (the trailing axes). */
function rowsOf(x: Tensor, options: RmsNormOptions): { rows: number; width: number } {
  const k = options.normalizedShape.length;
  const trailing = x.shape.slice(x.shape.length - k);
  if (x.shape.length < k || trailing.some((d, i) => d !== options.normalizedShape[i])) {
    throw new NormkitError(
      'E_SHAPE',
      `${NAME}: x must end in normalizedShape ${formatShape(options.normalizedShape)}, got ${formatShape(x.shape)}`,
      'x',
    );
  }
  const width = sizeOf(options.normalizedShape);
  return { rows: sizeOf(x.shape) / width, width };
}

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

  resolveOptions(input) {
    const o = readOptions(input, ['normalizedShape', 'eps', 'elementwiseAffine'], NAME);
    return {
      normalizedShape: shapeOption(o, 'normalizedShape', NAME),
      eps: numberOption(o, 'eps', 1e-6, { greaterThan: 0 }, NAME),
      elementwiseAffine: booleanOption(o, 'elementwiseAffine', true, NAME),
    };
  },

  paramShapes: (options) => (options.elementwiseAffine ? { weight: options.normalizedShape } : {}),
  stateShapes: () => ({}),

  init(options, dtype: Dtype = 'float32') {
    return { params: options.elementwiseAffine ? { weight: ones(options.normalizedShape, dtype) } : {}, state: {} };
  },

  exampleShapes: (options) => [[3, ...options.normalizedShape], [2, 2, ...options.normalizedShape]],

  forward({ x, params, state }, options) {
    // Validate everything before computing anything.
    assertTensor(x, 'x');
    const { rows, width } = rowsOf(x, options);
    const { weight } = assertTensorMap(params, rmsNorm.paramShapes(options), 'params');
    const xs = toTypedArray(x); // row-major copy: any strides work
    const gamma = weight === undefined ? null : toTypedArray(weight);

    const y = new Float64Array(xs.length);
    const invRms = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      const base = row * width;
      let sumOfSquares = 0;
      for (let j = 0; j < width; j++) sumOfSquares += xs[base + j] * xs[base + j];
      const r = 1 / Math.sqrt(sumOfSquares / width + options.eps);
      invRms[row] = r;
      for (let j = 0; j < width; j++) y[base + j] = xs[base + j] * r * (gamma === null ? 1 : gamma[j]);
    }
    return { y: fromArray(y, x.shape, dtypeOf(x)), state, saved: { x, invRms } };
  },

  backward({ dy, params, saved }, options) {
    const { x, invRms } = saved;
    assertTensor(dy, 'dy');
    assertSameShape(dy, x.shape, 'dy');
    const { weight } = assertTensorMap(params, rmsNorm.paramShapes(options), 'params');
    const { rows, width } = rowsOf(x, options);
    if (invRms.length !== rows) throw new NormkitError('E_STATE', `${NAME}: saved does not belong to this input`, 'saved');
    const xs = toTypedArray(x);
    const dys = toTypedArray(dy);
    const gamma = weight === undefined ? null : toTypedArray(weight);

    // g = dy ⊙ γ;  dx = r·g − x·r³·mean(x ⊙ g);  dγ = Σ_rows dy ⊙ x·r
    const dx = new Float64Array(xs.length);
    const dweight = new Float64Array(width);
    for (let row = 0; row < rows; row++) {
      const base = row * width;
      const r = invRms[row];
      let meanXg = 0;
      for (let j = 0; j < width; j++) meanXg += xs[base + j] * dys[base + j] * (gamma === null ? 1 : gamma[j]);
      meanXg /= width;
      for (let j = 0; j < width; j++) {
        const g = dys[base + j] * (gamma === null ? 1 : gamma[j]);
        dx[base + j] = r * g - xs[base + j] * r * r * r * meanXg;
        dweight[j] += dys[base + j] * xs[base + j] * r;
      }
    }
    const grads = weight === undefined ? {} : { weight: fromArray(dweight, weight.shape, dtypeOf(weight)) };
    return { dx: fromArray(dx, x.shape, dtypeOf(x)), grads };
  },
});

// `normkit gradcheck path/to/rms-norm.js` loads the default export.
export default rmsNorm;
