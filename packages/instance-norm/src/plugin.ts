import {
  withChannels,
  normBackward,
  normDoubleBackward,
  CONTRACT_DTYPES,
  NormkitError,
  assertTensor,
  batchMomentsOf,
  batchStatistics,
  checkForward,
  checkRunningStatistics,
  defineNormalizer,
  float64Values,
  paramValues,
  Float64Scratch,
  formatShape,
  full,
  initialRunningStatistics,
  nextRunningStatistics,
  normalizeAxis,
  normalizeBatch,
  normalizeForward,
  outputOf,
  planCache,
  planNormalization,
  splitAxis,
  viewOf,
} from '@normkit/core';
import type {
  ForwardSpec,
  Invariant,
  NormBackwardBinding,
  NormalizerTypes,
  NormSaved,
  NormStatistics,
  Shape,
  StateUpdate,
  StridedView,
  Tensor,
  TensorMap,
} from '@normkit/core';
import type { InstanceNormInputOptions, InstanceNormOptions } from './options.js';
import { resolveInstanceNormOptions } from './options.js';
import { instanceNormOnnx } from './onnx.js';
import { instanceNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/** γ and β as float64 within one forward call (handed to the engine's kernels, never returned). */
const forwardParamScratch = new Float64Scratch(2);

/**
 * What instance norm's forward keeps for backward (core's {@link NormSaved}): the input by
 * reference and, per (sample, channel), the mean and $`1/\sqrt{\sigma^2 + \epsilon}`$ used,
 * row-major over `(N, C)` (the running statistics repeated per sample in eval with tracking).
 */
export type InstanceNormSaved = NormSaved;

/** The type bag of the instance-norm plugin. */
export interface InstanceNormTypes extends NormalizerTypes {
  /** `'instance-norm'`. */
  Name: 'instance-norm';
  /** See {@link InstanceNormInputOptions}. */
  InputOptions: InstanceNormInputOptions;
  /** See {@link InstanceNormOptions}. */
  Options: InstanceNormOptions;
  /** γ and β, each of shape `[numFeatures]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** With `trackRunningStats`: running mean and variance (`[numFeatures]`) and PyTorch's 0-d step counter (kept, never incremented, as PyTorch). */
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  /** See {@link InstanceNormSaved}. */
  Saved: InstanceNormSaved;
}

/** The LaTeX forward formula (also in `instanceNorm.meta.formula`). */
export const INSTANCE_NORM_FORMULA = 'y_{n,c,\\ldots} = \\frac{x_{n,c,\\ldots} - \\mu_{n,c}}{\\sqrt{\\sigma^2_{n,c} + \\epsilon}}\\,\\gamma_c + \\beta_c';

/**
 * Instance normalization (Ulyanov et al. 2016) with PyTorch's semantics
 * (`nn.InstanceNorm1d/2d/3d`), as a normkit plugin on the normalization engine: statistics per
 * (sample, channel) over the spatial axes, with the **biased** variance; optional per-channel
 * affine:
 *
 * $$y_{n,c} = \frac{x_{n,c} - \mu_{n,c}}{\sqrt{\sigma_{n,c}^2 + \epsilon}}\,\gamma_c + \beta_c$$
 *
 * `affine` and `trackRunningStats` default to false, as in PyTorch. With tracking, training
 * updates the running statistics as PyTorch does — each channel's running mean moves towards
 * the mean over the batch of the per-sample means, its running variance towards the mean of
 * the per-sample **unbiased** variances — and eval normalizes with them; `numBatchesTracked` is
 * kept for PyTorch's state dicts and, as in PyTorch, never incremented. Without tracking, eval
 * uses the instance statistics too.
 *
 * `batchMoments(x)` reports each (sample, channel)'s moments (`'per-group'`): core's
 * `recalibrate` (PreciseBN) then sets the running mean to the average of the per-sample
 * means and the running variance to the average of the per-sample **unbiased** variances over
 * all samples of the calibration batches — the population values of what the update above
 * estimates (the variance within samples, not the spread between them).
 *
 * Input `(N, C, *)` with at least one spatial axis. With `spatialDims` (PyTorch's
 * `InstanceNorm1d/2d/3d`), also an unbatched `(C, *)` of rank `spatialDims + 1`, normalized as
 * the batch of one sample `(1, C, *)` (as PyTorch does), with `y` and `dx` shaped like it.
 *
 * The optional second-order member `doubleBackward` (the VJP of `backward`, core's
 * `normalizeDoubleBackward`) is implemented, with instance statistics or running constants.
 *
 * @throws NormkitError from `create`: `E_OPTION` (see {@link resolveInstanceNormOptions}). From
 *   `forward`: `E_SHAPE` (rank < 3, or with `spatialDims` a rank other than `spatialDims + 1`
 *   or `spatialDims + 2`; C ≠ numFeatures, misshapen parameters, state or `out`),
 *   `E_DTYPE`, `E_STATE`, `E_OPTION` for a bad mode, `E_DEGENERATE` for one spatial element when
 *   instance statistics are used (PyTorch raises there too), `E_NONFINITE` for non-finite
 *   statistics that would enter the running statistics. From `backward`: `E_SHAPE` /
 *   `E_DTYPE` for a bad `dy`, `E_STATE` for a `saved` that does not fit.
 * @example
 * ```ts
 * const inorm = instanceNorm.create({ numFeatures: 3, affine: true });
 * const { params, state } = inorm.init('float64');
 * const { y, saved } = inorm.forward({ x, params, state, mode: 'train' });
 * const { dx, grads } = inorm.backward({ dy, params, saved });
 * ```
 */
export const instanceNorm = defineNormalizer<InstanceNormTypes>({
  meta: {
    name: 'instance-norm',
    version: VERSION,
    description: 'Instance normalization: statistics per (sample, channel) over the spatial axes, optional affine and running statistics (PyTorch semantics).',
    formula: INSTANCE_NORM_FORMULA,
  },
  modes: ['train', 'eval'],
  exampleOptions: [
    { numFeatures: 3 },
    { numFeatures: 2, affine: true },
    { numFeatures: 2, affine: true, trackRunningStats: true },
    { numFeatures: 3, channelAxis: -1, affine: true },
    { numFeatures: 2, spatialDims: 1, affine: true, trackRunningStats: true },
    { numFeatures: 2, spatialDims: 2, channelAxis: -1, affine: true },
  ],
  pytorch: instanceNormPyTorch,
  onnx: instanceNormOnnx,
  resolveOptions: resolveInstanceNormOptions,

  bind(options) {
    const channels = options.numFeatures;
    const tracked = options.trackRunningStats;
    const paramShapes: { weight?: Shape; bias?: Shape } = options.affine ? { weight: [channels], bias: [channels] } : {};
    const stateShapes: { runningMean?: Shape; runningVar?: Shape; numBatchesTracked?: Shape } = tracked
      ? { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] }
      : {};
    const spatialDims = options.spatialDims;
    /** An unbatched `(C, *)` input (only with `spatialDims`): it runs as the batch `(1, C, *)`. */
    const unbatched = (shape: Shape): boolean => spatialDims !== null && shape.length === spatialDims + 1;
    /** The rank of the batched form of an input of `shape`. */
    const batchedRank = (shape: Shape): number => (unbatched(shape) ? shape.length + 1 : shape.length);
    /** The channel axis of the batched form `(N, C, *)` (or `(N, *, C)`). */
    const axisOf = (shape: Shape) => normalizeAxis(options.channelAxis, batchedRank(shape), 'options.channelAxis');
    /** The channel axis among the input's own axes (one less for an unbatched input). */
    const inputAxisOf = (shape: Shape) => axisOf(shape) - (unbatched(shape) ? 1 : 0);
    const shapeProblem = (shape: Shape): string | null => {
      if (spatialDims !== null && !unbatched(shape) && shape.length !== spatialDims + 2) {
        return `expected rank ${spatialDims + 1} (unbatched) or ${spatialDims + 2} (batched) for spatialDims ${spatialDims}, got shape ${formatShape(shape)}`;
      }
      const axis = axisOf(shape);
      if (axis === 0) return `expected the channel axis after the batch axis 0, got channelAxis ${options.channelAxis} for rank ${shape.length}`;
      const inputAxis = inputAxisOf(shape);
      return shape[inputAxis] === channels ? null : `expected ${channels} channels (numFeatures) on axis ${inputAxis}, got shape ${formatShape(shape)}`;
    };
    // With spatialDims, shapeProblem names the two ranks allowed (core's check only says "≥").
    const minRank = spatialDims === null ? 3 : 0;
    const spec: ForwardSpec = { plugin: 'instance-norm', minRank, checkShape: shapeProblem, paramShapes, stateShapes, counters: ['numBatchesTracked'] };
    const plans = planCache((shape) => {
      const axis = axisOf(shape);
      return planNormalization(unbatched(shape) ? [1, ...shape] : shape, [0, axis], options.affine ? [axis] : null);
    });
    /** The engine's view of a tensor: an unbatched one gets a leading axis of 1 (no copy). */
    const view = (t: Tensor): StridedView => {
      const strided = viewOf(t);
      return unbatched(strided.shape) ? splitAxis(strided, 0, [1, strided.shape[0]]) : strided;
    };

    const backwardBinding: NormBackwardBinding = {
      spec,
      fits: shapeProblem,
      groupsOf: (shape) => (unbatched(shape) ? 1 : shape[0]) * channels,
      plans,
      view,
      paramShape: [channels],
      centered: true,
      alwaysBatchStats: false,
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => stateShapes,

      init(dtype = 'float32') {
        const params = options.affine ? { weight: full([channels], dtype, 1), bias: full([channels], dtype, 0) } : {};
        return { params, state: tracked ? initialRunningStatistics(channels, dtype) : {} };
      },

      exampleShapes() {
        if (spatialDims === null) return withChannels([[2, 0, 5], [2, 0, 3, 2]], channels, options.channelAxis);
        // A batched and an unbatched input of the rank spatialDims asks for.
        return withSpatialDims(spatialDims, 2, [5, 3, 2], channels, options.channelAxis);
      },

      largeShapes() {
        // Runs of 37 and 667 positions (unrolled by four, remainders); channels last, the
        // columns layout with A > 1 (samples) and 37 or 667 rows.
        if (spatialDims === null) return withChannels([[6, 0, 37], [4, 0, 23, 29]], channels, options.channelAxis);
        return withSpatialDims(spatialDims, 6, [37, 23, 29], channels, options.channelAxis);
      },

      dtypes: CONTRACT_DTYPES,

      // Without running statistics, eval uses the instance statistics too: the same computation.
      modeIndependent: !tracked,

      stateUpdate(xShape): StateUpdate | null {
        // PyTorch: the running statistics average each sample's mean and unbiased variance,
        // and the counter is kept but never incremented.
        if (!tracked) return null;
        return {
          kind: 'moving-average',
          channelAxis: inputAxisOf(xShape),
          // An unbatched input is one sample: its statistics pool the whole channel.
          averagedAxes: unbatched(xShape) ? [] : [0],
          momentum: options.momentum,
          counter: 'numBatchesTracked',
          countsSteps: false,
          statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
        };
      },

      invariants(mode, xShape): readonly Invariant[] {
        if (mode === 'eval' && tracked) return [];
        const axis = inputAxisOf(xShape);
        const first = unbatched(xShape) ? 0 : 1;
        return [{ kind: 'zero-sum', reduceAxes: xShape.map((_, k) => k).filter((k) => k >= first && k !== axis) }];
      },

      validateState(state) {
        checkRunningStatistics(state);
      },

      batchMoments(x) {
        const input = assertTensor(x, 'x', { minRank });
        const problem = shapeProblem(input.shape);
        if (problem !== null) throw new NormkitError('E_SHAPE', `x: ${problem}`, 'x');
        const plan = plans(input.shape);
        const stats = batchStatistics(view(input), plan, true, 0);
        return batchMomentsOf('per-group', stats.center, stats.variance, plan.count, channels);
      },

      forward(args) {
        const { x, dtype, params, state, mode, out } = checkForward(args, spec);
        checkRunningStatistics(state);
        const plan = plans(x.shape);
        const batchStats = mode === 'train' || !tracked;
        if (batchStats && plan.count <= 1) {
          throw new NormkitError('E_DEGENERATE', `x: expected more than 1 spatial element when using instance statistics, got input shape ${formatShape(x.shape)}`, 'x');
        }
        const samples = unbatched(x.shape) ? 1 : x.shape[0];
        const y = outputOf(out, x.shape, dtype);
        const weight = paramValues(params.weight, forwardParamScratch, 0);
        const bias = paramValues(params.bias, forwardParamScratch, 1);
        let stats: NormStatistics;
        let nextState: TensorMap<InstanceNormTypes['State']> = args.state;
        if (batchStats) {
          // Statistics and y in one engine call; the next running statistics are formed (and
          // refused, with nothing written) before y is written.
          const updatesRunning = mode === 'train' && tracked;
          const batch = normalizeBatch(view(x), plan, true, options.eps, weight, bias, view(y), (center, variance) => {
            if (!updatesRunning) return;
            // PyTorch: each (n, c) updates a copy of the running statistics with its own mean and
            // unbiased variance, and the copies are averaged over n.
            const unbiased = plan.count / (plan.count - 1);
            const meanOverBatch = new Float64Array(channels);
            const varianceOverBatch = new Float64Array(channels);
            for (let n = 0; n < samples; n++) {
              for (let c = 0; c < channels; c++) {
                meanOverBatch[c] += center[n * channels + c] / samples;
                varianceOverBatch[c] += (variance[n * channels + c] * unbiased) / samples;
              }
            }
            nextState = nextRunningStatistics(state, meanOverBatch, varianceOverBatch, options.momentum, false);
          });
          stats = batch;
        } else {
          const runningMean = float64Values(state.runningMean);
          const runningVar = float64Values(state.runningVar);
          const center = new Float64Array(samples * channels);
          const invStd = new Float64Array(samples * channels);
          for (let n = 0; n < samples; n++) {
            for (let c = 0; c < channels; c++) {
              center[n * channels + c] = runningMean[c];
              invStd[n * channels + c] = 1 / Math.sqrt(runningVar[c] + options.eps);
            }
          }
          stats = { center, invStd };
          normalizeForward(view(x), plan, stats, weight, bias, view(y));
        }
        return { y, state: nextState, saved: { x, center: stats.center, invStd: stats.invStd, batchStats } };
      },

      backward: (args) => normBackward(backwardBinding, args),

      doubleBackward: (args) => normDoubleBackward(backwardBinding, args),
    };
  },
});

/**
 * Example shapes for a `spatialDims` layer: a batch of `samples` and an unbatched input, with the
 * first `spatialDims` of `spatial` as spatial sizes and the channels where `channelAxis` puts them.
 */
function withSpatialDims(spatialDims: number, samples: number, spatial: readonly number[], channels: number, channelAxis: number): number[][] {
  const sizes = spatial.slice(0, spatialDims);
  const [batched, single] = withChannels([[samples, 0, ...sizes], [1, 0, ...sizes]], channels, channelAxis);
  return [batched, single.slice(1)];
}
