/**
 * One harness per built-in plugin: an arbitrary test case (shape, strides, dtypes, valid
 * options, mode, values), how to build the plugin's arguments from it, and what the
 * plain-loop reference says the result must be. The generic properties of the test
 * suite run over every harness.
 */
import fc from 'fast-check';
import { batchNorm } from '@normkit/batch-norm';
import { dtypeOf } from '@normkit/core';
import type { BoundNormalizer, Dtype, Mode, Normalizer, Tensor } from '@normkit/core';
import { layerNorm } from '@normkit/layer-norm';
import { weightNorm, weightNormLinear } from '@normkit/weight-norm';
import { maxAbs } from './compare.js';
import {
  forEachIndex,
  refBatchNormBackward,
  refBatchNormForward,
  refLayerNormBackward,
  refLayerNormForward,
  refLinearBackward,
  refLinearForward,
  refWeightNormBackward,
  refWeightNormForward,
  valuesOf,
} from './reference.js';
import type { ValueSpec, ViewSpec } from './views.js';
import { contiguousSpec, drawValues, dtypeArb, makeView, shapeArb, sizeArb, valueSpecArb, viewSpecArb } from './views.js';

/** How to deviate from a case when building it. */
export interface Variant {
  /** Force every tensor (x, dy, params, floating state) to this dtype (counters stay float64). */
  readonly dtype?: Dtype;
  /** Lay every tensor out row-major contiguous. */
  readonly contiguous?: boolean;
  /** Replace the values of x (row-major). */
  readonly xValues?: Float64Array;
  /** Replace eps. */
  readonly eps?: number;
}

/** The arguments of one forward + backward call. */
export interface Built {
  /** The plugin bound to the case's options (`plugin.create(input)`): what the call runs. */
  readonly bound: BoundNormalizer<any>;
  /** The resolved options (`bound.options`), for the reference. */
  readonly options: object;
  readonly mode: Mode;
  readonly x: Tensor;
  readonly xValues: Float64Array;
  readonly dy: Tensor;
  readonly params: Record<string, Tensor>;
  readonly state: Record<string, Tensor>;
}

/** What the reference says (row-major float64), with the scale of each result for tolerances. */
export interface Expected {
  readonly y: Float64Array;
  readonly dx: Float64Array;
  readonly grads: Record<string, Float64Array>;
  /** The next state (null: returned unchanged). */
  readonly state: Record<string, Float64Array> | null;
  /** Per result name (`y`, `dx`, `grads.<p>`, `state.<s>`): the magnitude scale of its computation. */
  readonly scale: Record<string, number>;
  /** The smallest per-group variance (∞ when the plugin has none), for "variance ≫ eps". */
  readonly minVariance: number;
  /** The eps in force (0 for none). */
  readonly eps: number;
  /**
   * For the plugins on core's engine, what `saved` must hold besides `x` (core's `NormSaved`):
   * per statistics group the center used and `1/√(σ² + ε)`, and whether they are batch
   * statistics. Absent when the reference does not say.
   */
  readonly saved?: ExpectedSaved;
}

/** The per-group values of core's `NormSaved`, from the reference (float64, group order). */
export interface ExpectedSaved {
  readonly center: Float64Array;
  readonly invStd: Float64Array;
  readonly batchStats: boolean;
}

/** A plugin under test. */
export interface Harness<C> {
  readonly name: string;
  readonly plugin: Normalizer<any>;
  readonly caseArb: fc.Arbitrary<C>;
  /** Builds the arguments; `null` when the variant does not apply. */
  build(c: C, variant?: Variant): Built;
  /** The reference result, or the error code the plugin must throw. */
  reference(b: Built): Expected | { readonly throws: string };
}

/** State entries that are float64 counters whatever the dtype. */
export const COUNTERS: readonly string[] = ['numBatchesTracked'];

/**
 * The dtype rule of the contract: parameters and floating state must have `x`'s dtype
 * (`E_DTYPE` otherwise, before anything is computed, as PyTorch raises); counters
 * (`numBatchesTracked`) are float64 whatever `x` is; `dy` may be either dtype.
 *
 * @returns `E_DTYPE` when a parameter or floating state entry has another dtype than `x`, else `null`
 */
export function dtypeRuleViolation(b: Built): 'E_DTYPE' | null {
  const dtype = dtypeOf(b.x);
  const floating = [...Object.values(b.params), ...Object.entries(b.state).filter(([name]) => !COUNTERS.includes(name)).map(([, t]) => t)];
  return floating.some((t) => dtypeOf(t) !== dtype) ? 'E_DTYPE' : null;
}

function view(values: Float64Array, shape: readonly number[], dtype: Dtype, spec: ViewSpec, variant: Variant): Tensor {
  return makeView(values, shape, variant.dtype ?? dtype, variant.contiguous === true ? contiguousSpec(shape.length) : spec);
}

function draws(n: number, seed: number, center: number, scale: number): Float64Array {
  return drawValues(n, { seed, center, scale });
}

function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Common per-case randomness: dtypes, seeds, layouts of x and dy. */
interface Common {
  readonly mode: Mode;
  readonly xDtype: Dtype;
  /** The upstream gradient's dtype: either, independently of x (dx follows x). */
  readonly dyDtype: Dtype;
  /**
   * The dtype of parameters and floating state: x's in four cases of five; the other dtype
   * in the fifth, where the call must throw `E_DTYPE` (the contract's dtype rule).
   */
  readonly paramDtype: Dtype;
  readonly values: ValueSpec;
  readonly seed: number;
  readonly xSpec: ViewSpec;
  readonly dySpec: ViewSpec;
}

function otherDtype(dtype: Dtype): Dtype {
  return dtype === 'float32' ? 'float64' : 'float32';
}

function commonArb(rank: number, modes: readonly Mode[]): fc.Arbitrary<Common> {
  return fc
    .record({
      mode: fc.constantFrom(...modes),
      xDtype: dtypeArb,
      dyDtype: dtypeArb,
      mixedDtypes: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
      values: valueSpecArb,
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      xSpec: viewSpecArb(rank),
      dySpec: viewSpecArb(rank),
    })
    .map(({ mixedDtypes, ...rest }) => ({ ...rest, paramDtype: mixedDtypes ? otherDtype(rest.xDtype) : rest.xDtype }));
}

// ---------------------------------------------------------------------------------------

/** A batch-norm case. */
export interface BatchNormCase extends Common {
  readonly shape: number[];
  readonly channelAxis: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly numBatchesTracked: number;
  readonly paramSpecs: readonly ViewSpec[];
}

const batchNormCaseArb: fc.Arbitrary<BatchNormCase> = shapeArb(2, 4).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    channelAxis: fc.integer({ min: 0, max: shape.length - 1 }).chain((k) => fc.constantFrom(k, k - shape.length)),
    eps: fc.constantFrom(1e-5, 1e-3, 0.1),
    momentum: fc.constantFrom(0.1, 0, 1, 0.37, null),
    affine: fc.boolean(),
    trackRunningStats: fc.boolean(),
    numBatchesTracked: fc.integer({ min: 0, max: 5 }),
    paramSpecs: fc.array(viewSpecArb(1), { minLength: 4, maxLength: 4 }),
    common: commonArb(shape.length, ['train', 'eval']),
  }).map(({ common, ...rest }) => ({ ...common, ...rest })),
);

/** The batch-norm harness. */
export const batchNormHarness: Harness<BatchNormCase> = {
  name: 'batch-norm',
  plugin: batchNorm,
  caseArb: batchNormCaseArb,
  build(c, variant = {}) {
    const rank = c.shape.length;
    const axis = c.channelAxis < 0 ? c.channelAxis + rank : c.channelAxis;
    const C = c.shape[axis];
    const bound = batchNorm.create({
      numFeatures: C,
      eps: variant.eps ?? c.eps,
      momentum: c.momentum,
      affine: c.affine,
      trackRunningStats: c.trackRunningStats,
      channelAxis: c.channelAxis,
    });
    const options = bound.options;
    const n = sizeOfShape(c.shape);
    const xValues = variant.xValues ?? drawValues(n, c.values);
    const params: Record<string, Tensor> = {};
    if (c.affine) {
      params.weight = view(draws(C, c.seed + 1, 1, 0.5), [C], c.paramDtype, c.paramSpecs[0], variant);
      params.bias = view(draws(C, c.seed + 2, 0, 1), [C], c.paramDtype, c.paramSpecs[1], variant);
    }
    const state: Record<string, Tensor> = {};
    if (c.trackRunningStats) {
      state.runningMean = view(draws(C, c.seed + 3, 0, 1), [C], c.paramDtype, c.paramSpecs[2], variant);
      const rv = draws(C, c.seed + 4, 0, 1).map((v) => Math.fround(0.25 + Math.abs(v)));
      state.runningVar = view(rv, [C], c.paramDtype, c.paramSpecs[3], variant);
      state.numBatchesTracked = makeView([c.numBatchesTracked], [], 'float64');
    }
    return {
      bound,
      options,
      mode: c.mode,
      x: view(xValues, c.shape, c.xDtype, c.xSpec, variant),
      xValues,
      dy: view(draws(n, c.seed + 5, 0, 1), c.shape, c.dyDtype, c.dySpec, variant),
      params,
      state,
    };
  },
  reference(b) {
    const violation = dtypeRuleViolation(b);
    if (violation !== null) return { throws: violation };
    const o = b.options as Parameters<typeof refBatchNormForward>[4];
    const fwd = refBatchNormForward(b.x, b.params, b.state, b.mode, o);
    if (fwd.usedBatchStats && fwd.count <= 1) return { throws: 'E_DEGENERATE' };
    const bwd = refBatchNormBackward(b.x, b.dy, b.params, fwd, o);
    const gammaMax = b.params.weight === undefined ? 1 : maxAbs(valuesOf(b.params.weight));
    const betaMax = b.params.bias === undefined ? 0 : maxAbs(valuesOf(b.params.bias));
    const rank = b.x.shape.length;
    const axis = o.channelAxis < 0 ? o.channelAxis + rank : o.channelAxis;
    let xhatMax = 0;
    let invStdMax = 0;
    forEachIndex(b.x.shape, (i) => {
      const c = i[axis];
      const inv = 1 / Math.sqrt(fwd.variance[c] + o.eps);
      invStdMax = Math.max(invStdMax, inv);
      xhatMax = Math.max(xhatMax, Math.abs(b.x.get(...i) - fwd.mean[c]) * inv);
    });
    const dyMax = maxAbs(valuesOf(b.dy));
    const grads: Record<string, Float64Array> = {};
    if (b.params.weight !== undefined) grads.weight = bwd.dweight;
    if (b.params.bias !== undefined) grads.bias = bwd.dbias;
    let state: Record<string, Float64Array> | null = null;
    const scale: Record<string, number> = {
      y: gammaMax * xhatMax + betaMax,
      dx: gammaMax * dyMax * invStdMax * (1 + xhatMax * xhatMax + 1),
      'grads.weight': fwd.count * dyMax * xhatMax,
      'grads.bias': fwd.count * dyMax,
    };
    if (fwd.next !== null) {
      state = {
        runningMean: fwd.next.runningMean,
        runningVar: fwd.next.runningVar,
        numBatchesTracked: Float64Array.of(fwd.next.numBatchesTracked),
      };
      scale['state.runningMean'] = maxAbs(valuesOf(b.state.runningMean)) + maxAbs(fwd.mean);
      scale['state.runningVar'] = maxAbs(valuesOf(b.state.runningVar)) + 2 * maxAbs(fwd.variance);
      scale['state.numBatchesTracked'] = fwd.next.numBatchesTracked;
    }
    const saved = { center: fwd.mean, invStd: fwd.variance.map((v) => 1 / Math.sqrt(v + o.eps)), batchStats: fwd.usedBatchStats };
    return { y: fwd.y, dx: bwd.dx, grads, state, scale, minVariance: fwd.usedBatchStats ? Math.min(...fwd.variance) : Infinity, eps: o.eps, saved };
  },
};

// ---------------------------------------------------------------------------------------

/** A layer-norm case. */
export interface LayerNormCase extends Common {
  readonly shape: number[];
  readonly normalizedRank: number;
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly bias: boolean;
  readonly paramSpecs: readonly ViewSpec[];
}

const layerNormCaseArb: fc.Arbitrary<LayerNormCase> = shapeArb(1, 4).chain((shape) =>
  fc.integer({ min: 1, max: shape.length }).chain((normalizedRank) =>
    fc.record({
      shape: fc.constant(shape),
      normalizedRank: fc.constant(normalizedRank),
      eps: fc.constantFrom(1e-5, 1e-3, 0.1),
      elementwiseAffine: fc.boolean(),
      bias: fc.boolean(),
      paramSpecs: fc.array(viewSpecArb(normalizedRank), { minLength: 2, maxLength: 2 }),
      common: commonArb(shape.length, ['train', 'eval']),
    }).map(({ common, ...rest }) => ({ ...common, ...rest })),
  ),
);

/** The layer-norm harness. */
export const layerNormHarness: Harness<LayerNormCase> = {
  name: 'layer-norm',
  plugin: layerNorm,
  caseArb: layerNormCaseArb,
  build(c, variant = {}) {
    const normalizedShape = c.shape.slice(c.shape.length - c.normalizedRank);
    const bound = layerNorm.create({ normalizedShape, eps: variant.eps ?? c.eps, elementwiseAffine: c.elementwiseAffine, bias: c.bias });
    const options = bound.options;
    const n = sizeOfShape(c.shape);
    const H = sizeOfShape(normalizedShape);
    const xValues = variant.xValues ?? drawValues(n, c.values);
    const params: Record<string, Tensor> = {};
    if (c.elementwiseAffine) {
      params.weight = view(draws(H, c.seed + 1, 1, 0.5), normalizedShape, c.paramDtype, c.paramSpecs[0], variant);
      if (c.bias) params.bias = view(draws(H, c.seed + 2, 0, 1), normalizedShape, c.paramDtype, c.paramSpecs[1], variant);
    }
    return {
      bound,
      options,
      mode: c.mode,
      x: view(xValues, c.shape, c.xDtype, c.xSpec, variant),
      xValues,
      dy: view(draws(n, c.seed + 5, 0, 1), c.shape, c.dyDtype, c.dySpec, variant),
      params,
      state: {},
    };
  },
  reference(b) {
    const violation = dtypeRuleViolation(b);
    if (violation !== null) return { throws: violation };
    const o = b.options as Parameters<typeof refLayerNormForward>[2];
    const fwd = refLayerNormForward(b.x, b.params, o);
    const bwd = refLayerNormBackward(b.x, b.dy, b.params, fwd, o);
    const gammaMax = b.params.weight === undefined ? 1 : maxAbs(valuesOf(b.params.weight));
    const betaMax = b.params.bias === undefined ? 0 : maxAbs(valuesOf(b.params.bias));
    const leadingRank = b.x.shape.length - o.normalizedShape.length;
    let xhatMax = 0;
    let invStdMax = 0;
    forEachIndex(b.x.shape, (i) => {
      let r = 0;
      for (let k = 0; k < leadingRank; k++) r = r * b.x.shape[k] + i[k];
      const inv = 1 / Math.sqrt(fwd.variance[r] + o.eps);
      invStdMax = Math.max(invStdMax, inv);
      xhatMax = Math.max(xhatMax, Math.abs(b.x.get(...i) - fwd.mean[r]) * inv);
    });
    const dyMax = maxAbs(valuesOf(b.dy));
    const grads: Record<string, Float64Array> = {};
    if (b.params.weight !== undefined) grads.weight = bwd.dweight;
    if (b.params.bias !== undefined) grads.bias = bwd.dbias;
    return {
      y: fwd.y,
      dx: bwd.dx,
      grads,
      state: null,
      scale: {
        y: gammaMax * xhatMax + betaMax,
        dx: gammaMax * dyMax * invStdMax * (2 + xhatMax * xhatMax),
        'grads.weight': fwd.rows * dyMax * xhatMax,
        'grads.bias': fwd.rows * dyMax,
      },
      minVariance: Math.min(...fwd.variance),
      eps: o.eps,
      saved: { center: fwd.mean, invStd: fwd.variance.map((v) => 1 / Math.sqrt(v + o.eps)), batchStats: true },
    };
  },
};

// ---------------------------------------------------------------------------------------

/** A weight-norm case. */
export interface WeightNormCase extends Common {
  readonly shape: number[];
  /** Index into [null, 0..rank-1] with a negative spelling half the time. */
  readonly dim: number | null;
  readonly eps: number | null;
  readonly gSpec: ViewSpec;
}

const weightNormCaseArb: fc.Arbitrary<WeightNormCase> = shapeArb(1, 4).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    dim: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: shape.length - 1 }).chain((k) => fc.constantFrom(k, k - shape.length))),
    eps: fc.constantFrom(null, null, 1e-12, 1e-3),
    gSpec: viewSpecArb(shape.length),
    common: commonArb(shape.length, ['train', 'eval']),
  }).map(({ common, gSpec, ...rest }) => ({ ...common, ...rest, gSpec })),
);

/** The weight-norm harness (x = v, the one parameter is g, y = w). */
export const weightNormHarness: Harness<WeightNormCase> = {
  name: 'weight-norm',
  plugin: weightNorm,
  caseArb: weightNormCaseArb,
  build(c, variant = {}) {
    const bound = weightNorm.create({ shape: c.shape, dim: c.dim, eps: variant.eps ?? c.eps });
    const options = bound.options;
    const n = sizeOfShape(c.shape);
    const xValues = variant.xValues ?? drawValues(n, c.values);
    const gShape = options.dim === null ? [] : c.shape.map((d, k) => (k === options.dim ? d : 1));
    const gValues = draws(sizeOfShape(gShape), c.seed + 1, 1, 0.5);
    const g = gShape.length === 0 ? makeView(gValues, [], variant.dtype ?? c.paramDtype) : view(gValues, gShape, c.paramDtype, c.gSpec, variant);
    return {
      bound,
      options,
      mode: c.mode,
      x: view(xValues, c.shape, c.xDtype, c.xSpec, variant),
      xValues,
      dy: view(draws(n, c.seed + 5, 0, 1), c.shape, c.dyDtype, c.dySpec, variant),
      params: { g },
      state: {},
    };
  },
  reference(b) {
    const violation = dtypeRuleViolation(b);
    if (violation !== null) return { throws: violation };
    const o = b.options as Parameters<typeof refWeightNormForward>[2];
    const fwd = refWeightNormForward(b.x, b.params.g, o);
    if (o.eps === null && fwd.norms.some((v) => v === 0)) return { throws: 'E_DEGENERATE' };
    const bwd = refWeightNormBackward(b.x, b.params.g, b.dy, o);
    const gMax = maxAbs(valuesOf(b.params.g));
    const dyMax = maxAbs(valuesOf(b.dy));
    const invMax = 1 / Math.min(...fwd.norms);
    const vMax = maxAbs(valuesOf(b.x));
    return {
      y: fwd.w,
      dx: bwd.dv,
      grads: { g: bwd.dg },
      state: null,
      scale: { y: gMax * vMax * invMax, dx: 2 * gMax * dyMax * invMax, 'grads.g': sizeOfShape(b.x.shape) * dyMax * vMax * invMax },
      minVariance: Infinity,
      eps: o.eps ?? 0,
    };
  },
};

// ---------------------------------------------------------------------------------------

/** A weight-normalized dense layer case. */
export interface LinearCase extends Common {
  readonly shape: number[];
  readonly outFeatures: number;
  readonly bias: boolean;
  readonly eps: number | null;
  readonly paramSpecs: readonly ViewSpec[];
  readonly dyShapeSpec: ViewSpec;
}

const linearCaseArb: fc.Arbitrary<LinearCase> = fc.tuple(shapeArb(1, 3, 120), sizeArb).chain(([shape, outFeatures]) =>
  fc.record({
    shape: fc.constant(shape),
    outFeatures: fc.constant(outFeatures),
    bias: fc.boolean(),
    eps: fc.constantFrom(null, null, 1e-3),
    paramSpecs: fc.tuple(viewSpecArb(2), viewSpecArb(1), viewSpecArb(1)),
    dyShapeSpec: viewSpecArb(shape.length),
    common: commonArb(shape.length, ['train', 'eval']),
  }).map(({ common, ...rest }) => ({ ...common, ...rest })),
);

/** The weight-norm-linear harness. */
export const linearHarness: Harness<LinearCase> = {
  name: 'weight-norm-linear',
  plugin: weightNormLinear,
  caseArb: linearCaseArb,
  build(c, variant = {}) {
    const inFeatures = c.shape[c.shape.length - 1];
    const bound = weightNormLinear.create({ inFeatures, outFeatures: c.outFeatures, bias: c.bias, eps: variant.eps ?? c.eps });
    const options = bound.options;
    const n = sizeOfShape(c.shape);
    const yShape = [...c.shape.slice(0, -1), c.outFeatures];
    const xValues = variant.xValues ?? drawValues(n, c.values);
    const params: Record<string, Tensor> = {
      v: view(draws(c.outFeatures * inFeatures, c.seed + 1, 0, 1), [c.outFeatures, inFeatures], c.paramDtype, c.paramSpecs[0], variant),
      g: view(draws(c.outFeatures, c.seed + 2, 1, 0.5), [c.outFeatures], c.paramDtype, c.paramSpecs[1], variant),
    };
    if (c.bias) params.bias = view(draws(c.outFeatures, c.seed + 3, 0, 1), [c.outFeatures], c.paramDtype, c.paramSpecs[2], variant);
    return {
      bound,
      options,
      mode: c.mode,
      x: view(xValues, c.shape, c.xDtype, c.xSpec, variant),
      xValues,
      dy: view(draws(sizeOfShape(yShape), c.seed + 5, 0, 1), yShape, c.dyDtype, c.dyShapeSpec, variant),
      params,
      state: {},
    };
  },
  reference(b) {
    const violation = dtypeRuleViolation(b);
    if (violation !== null) return { throws: violation };
    const o = b.options as Parameters<typeof refLinearForward>[2];
    const y = refLinearForward(b.x, b.params as { v: Tensor; g: Tensor; bias?: Tensor }, o);
    const bwd = refLinearBackward(b.x, b.dy, b.params as { v: Tensor; g: Tensor; bias?: Tensor }, o);
    const xMax = maxAbs(valuesOf(b.x));
    const gMax = maxAbs(valuesOf(b.params.g));
    const dyMax = maxAbs(valuesOf(b.dy));
    const rows = sizeOfShape(b.x.shape) / o.inFeatures;
    let minNorm = Infinity;
    for (let r = 0; r < o.outFeatures; r++) {
      let ss = 0;
      for (let i = 0; i < o.inFeatures; i++) ss += b.params.v.get(r, i) ** 2;
      minNorm = Math.min(minNorm, Math.sqrt(ss + (o.eps ?? 0)));
    }
    if (o.eps === null && minNorm === 0) return { throws: 'E_DEGENERATE' };
    const vMax = maxAbs(valuesOf(b.params.v));
    const grads: Record<string, Float64Array> = { v: bwd.dv, g: bwd.dg };
    if (b.params.bias !== undefined) grads.bias = bwd.dbias;
    const wMax = (gMax * vMax) / minNorm;
    const biasMax = b.params.bias === undefined ? 0 : maxAbs(valuesOf(b.params.bias));
    const dW = rows * dyMax * xMax;
    return {
      y: y,
      dx: bwd.dx,
      grads,
      state: null,
      scale: {
        y: o.inFeatures * xMax * wMax + biasMax,
        dx: o.outFeatures * dyMax * wMax,
        'grads.v': (2 * gMax * dW * o.inFeatures) / minNorm,
        'grads.g': (dW * o.inFeatures * vMax) / minNorm,
        'grads.bias': rows * dyMax,
      },
      minVariance: Infinity,
      eps: o.eps ?? 0,
    };
  },
};

/** Every harness, for the generic properties. */
export const HARNESSES = [batchNormHarness, layerNormHarness, weightNormHarness, linearHarness] as const;
