import {
  withChannels,
  normBackward,
  normDoubleBackward,
  CONTRACT_DTYPES,
  NormkitError,
  assertTensor,
  batchMomentsOf,
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
  batchStatistics,
  normalizeBatch,
  normalizeForward,
  outputOf,
  planCache,
  planNormalization,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, Invariant, NormBackwardBinding, NormSaved, NormStatistics, NormalizerTypes, Shape, StateUpdate, TensorMap } from '@normkit/core';
import type { BatchNormInputOptions, BatchNormOptions } from './options.js';
import { resolveBatchNormOptions } from './options.js';
import { batchNormKeras } from './keras.js';
import { batchNormOnnx } from './onnx.js';
import { batchNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/** γ and β as float64 within one forward call (handed to the engine's kernels, never returned). */
const forwardParamScratch = new Float64Scratch(2);
/** The unbiased batch variance within one training forward call (read by `nextRunningStatistics` only). */
const unbiasedScratch = new Float64Scratch(1);

/**
 * What batch norm's forward keeps for backward (core's {@link NormSaved}): the input by
 * reference and, per channel, the mean and $`1/\sqrt{\sigma^2 + \epsilon}`$ used. Extra
 * memory: 16·C bytes, independent of the batch size. Do not mutate `x` between forward and
 * backward.
 */
export type BatchNormSaved = NormSaved;

/** The type bag of the batch-norm plugin. */
export interface BatchNormTypes extends NormalizerTypes {
  /** `'batch-norm'`. */
  Name: 'batch-norm';
  /** See {@link BatchNormInputOptions}. */
  InputOptions: BatchNormInputOptions;
  /** See {@link BatchNormOptions}. */
  Options: BatchNormOptions;
  /** γ and β, each of shape `[numFeatures]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** The running statistics (`[numFeatures]` each) and the 0-d float64 step counter, when `trackRunningStats` is on. */
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  /** See {@link BatchNormSaved}. */
  Saved: BatchNormSaved;
}

/** The LaTeX forward formula (also in `batchNorm.meta.formula`). */
export const BATCH_NORM_FORMULA = 'y = \\frac{x - \\mu_c}{\\sqrt{\\sigma^2_c + \\epsilon}}\\,\\gamma_c + \\beta_c';

/**
 * Batch normalization (Ioffe & Szegedy 2015) with PyTorch's semantics, as a normkit plugin on
 * the normalization engine: statistics per channel over every other axis, parameters per
 * channel.
 *
 * $$y = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}\,\gamma_c + \beta_c$$
 *
 * Train: per-channel batch mean $`\mu_c`$ and **biased** batch variance $`\sigma_c^2`$ over N
 * and every axis but the channel axis; the running statistics are updated with the
 * **unbiased** variance (the biased one with `unbiasedRunningVar: false`, as Keras),
 * $`r \leftarrow (1 - \mathrm{momentum})\,r + \mathrm{momentum}\cdot b`$
 * (factor $`1/t`$ at step $`t`$ with `momentum: null`), and `numBatchesTracked += 1`.
 * Eval: the running statistics normalize and nothing changes (with `trackRunningStats:
 * false`, batch statistics are used in eval too).
 *
 * `batchMoments(x)` reports a batch's per-channel moments (`'pooled'`), so that core's
 * `recalibrate` (PreciseBN) can replace the running statistics by population statistics.
 *
 * Every error is thrown before anything is computed, so nothing changes.
 *
 * The optional second-order member `doubleBackward` (the VJP of `backward`, core's
 * `normalizeDoubleBackward`) is implemented, with batch statistics in train and constants in eval.
 *
 * @throws NormkitError from `create`: `E_OPTION` for bad options. From `forward`: `E_SHAPE`
 *   (rank < 2, C ≠ numFeatures, misshapen parameters or state, empty input, a bad `out`),
 *   `E_DTYPE` (not a Float32/Float64 ndarray, parameters or state of another dtype than `x`),
 *   `E_STATE` (a missing or unexpected parameter or state entry, a `numBatchesTracked` that is
 *   not a non-negative integer), `E_OPTION` (a bad mode, a channel axis out of range),
 *   `E_DEGENERATE` (one value per channel when batch statistics are needed), `E_NONFINITE`
 *   (NaN or ±Infinity in a training batch whose statistics would enter the running
 *   statistics). From `backward`: `E_SHAPE` / `E_DTYPE` for a `dy` that is not a float tensor
 *   of `x`'s shape; `E_STATE` for a `saved` value that does not fit.
 *
 * @example
 * ```ts
 * const bn = batchNorm.create({ numFeatures: 3 });
 * const { params, state } = bn.init('float64');
 * const { y, state: next, saved } = bn.forward({ x, params, state, mode: 'train' });
 * const { dx, grads } = bn.backward({ dy, params, saved });
 * ```
 */
export const batchNorm = defineNormalizer<BatchNormTypes>({
  meta: {
    name: 'batch-norm',
    version: VERSION,
    description: 'Batch normalization over every axis but the channel axis, with running statistics (PyTorch semantics).',
    formula: BATCH_NORM_FORMULA,
  },
  modes: ['train', 'eval'],
  exampleOptions: [
    { numFeatures: 3 },
    { numFeatures: 3, affine: false },
    { numFeatures: 2, momentum: null },
    { numFeatures: 3, channelAxis: -1 },
    { numFeatures: 2, trackRunningStats: false },
    { numFeatures: 3, momentum: 0.01, eps: 1e-3, channelAxis: -1, unbiasedRunningVar: false },
  ],
  pytorch: batchNormPyTorch,
  keras: batchNormKeras,
  onnx: batchNormOnnx,
  resolveOptions: resolveBatchNormOptions,

  bind(options) {
    const channels = options.numFeatures;
    const tracked = options.trackRunningStats;
    const paramShapes: { weight?: Shape; bias?: Shape } = options.affine ? { weight: [channels], bias: [channels] } : {};
    const stateShapes: { runningMean?: Shape; runningVar?: Shape; numBatchesTracked?: Shape } = tracked
      ? { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] }
      : {};
    const axisOf = (shape: Shape) => normalizeAxis(options.channelAxis, shape.length, 'options.channelAxis');
    const shapeProblem = (shape: Shape): string | null => {
      const axis = axisOf(shape);
      return shape[axis] === channels ? null : `expected ${channels} channels (numFeatures) on axis ${axis}, got shape ${formatShape(shape)}`;
    };
    const spec: ForwardSpec = { plugin: 'batch-norm', minRank: 2, checkShape: shapeProblem, paramShapes, stateShapes, counters: ['numBatchesTracked'] };
    const plans = planCache((shape) => {
      const axis = axisOf(shape);
      return planNormalization(shape, [axis], options.affine ? [axis] : null);
    });

    const backwardBinding: NormBackwardBinding = {
      spec,
      fits: shapeProblem,
      groupsOf: () => channels,
      plans,
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
        // (N, C), (N, C, L), (N, C, H, W) with the channels moved to options.channelAxis.
        return withChannels([[4, 0], [2, 0, 5], [2, 0, 3, 2]], channels, options.channelAxis);
      },

      largeShapes() {
        // Channels on axis 1: (67, C) reaches the columns layout (67 rows: four at a time and a
        // remainder of 3), (6, C, 37) and (5, C, 23, 29) the planes layout (runs of 37 and 667:
        // unrolled by four with remainders). Channels last: columns with 222 and 3335 rows.
        return withChannels([[67, 0], [6, 0, 37], [5, 0, 23, 29]], channels, options.channelAxis);
      },

      dtypes: CONTRACT_DTYPES,

      // Without running statistics, eval uses the batch statistics too: the same computation.
      modeIndependent: !tracked,

      stateUpdate(xShape): StateUpdate | null {
        if (!tracked) return null;
        return {
          kind: 'moving-average',
          channelAxis: axisOf(xShape),
          momentum: options.momentum,
          counter: 'numBatchesTracked',
          statistics: { runningMean: 'mean', runningVar: options.unbiasedRunningVar ? 'unbiased-variance' : 'variance' },
        };
      },

      invariants(mode, xShape): readonly Invariant[] {
        if (mode === 'eval' && tracked) return [];
        const axis = axisOf(xShape);
        return [{ kind: 'zero-sum', reduceAxes: xShape.map((_, k) => k).filter((k) => k !== axis) }];
      },

      validateState(state) {
        checkRunningStatistics(state);
      },

      batchMoments(x) {
        const input = assertTensor(x, 'x', { minRank: 2 });
        const problem = shapeProblem(input.shape);
        if (problem !== null) throw new NormkitError('E_SHAPE', `x: ${problem}`, 'x');
        const plan = plans(input.shape);
        const stats = batchStatistics(viewOf(input), plan, true, 0);
        const moments = batchMomentsOf('pooled', stats.center, stats.variance, plan.count, channels);
        return options.unbiasedRunningVar ? moments : { ...moments, runningVariance: 'biased' };
      },

      forward(args) {
        const { x, dtype, params, state, mode, out } = checkForward(args, spec);
        checkRunningStatistics(state);
        const plan = plans(x.shape);
        const batchStats = mode === 'train' || !tracked;
        if (batchStats && plan.count <= 1) {
          throw new NormkitError(
            'E_DEGENERATE',
            `x: expected more than 1 value per channel when using batch statistics, got input shape ${formatShape(x.shape)}`,
            'x',
          );
        }
        const y = outputOf(out, x.shape, dtype);
        const weight = paramValues(params.weight, forwardParamScratch, 0);
        const bias = paramValues(params.bias, forwardParamScratch, 1);
        let stats: NormStatistics;
        let nextState: TensorMap<BatchNormTypes['State']> = args.state;
        if (batchStats) {
          // Statistics and y in one engine call (a backend reads x once); the next running
          // statistics are formed (and refused, with nothing written) before y is written.
          const updatesRunning = mode === 'train' && tracked;
          const batch = normalizeBatch(viewOf(x), plan, true, options.eps, weight, bias, viewOf(y), (center, variance) => {
            if (!updatesRunning) return;
            let batchVariance = variance;
            if (options.unbiasedRunningVar) {
              batchVariance = unbiasedScratch.take(0, variance.length);
              for (let c = 0; c < batchVariance.length; c++) batchVariance[c] = (variance[c] * plan.count) / (plan.count - 1);
            }
            nextState = nextRunningStatistics(state, center, batchVariance, options.momentum);
          });
          stats = batch;
        } else {
          const runningVar = float64Values(state.runningVar);
          stats = { center: float64Values(state.runningMean), invStd: runningVar.map((v) => 1 / Math.sqrt(v + options.eps)) };
          normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(y));
        }
        return { y, state: nextState, saved: { x, center: stats.center, invStd: stats.invStd, batchStats } };
      },

      backward: (args) => normBackward(backwardBinding, args),

      doubleBackward: (args) => normDoubleBackward(backwardBinding, args),
    };
  },
});
