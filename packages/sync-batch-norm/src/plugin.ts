import {
  withChannels,
  CONTRACT_DTYPES,
  EMPTY_MOMENTS,
  NormkitError,
  assertTensor,
  batchStatistics,
  checkBackward,
  checkForward,
  checkNormSaved,
  checkRunningStatistics,
  defineNormalizer,
  dtypeOf,
  float64Values,
  formatShape,
  fromArray,
  full,
  initialRunningStatistics,
  mergeMoments,
  nextRunningStatistics,
  normalizeAxis,
  normalizeBackward,
  normalizeForward,
  outputOf,
  planCache,
  planNormalization,
  sizeOf,
  viewOf,
} from '@normkit/core';
import type { BatchMoments, BatchStatistics, ForwardSpec, Invariant, Moments, NormSaved, NormStatistics, NormalizerTypes, Shape, StateUpdate, Tensor, TensorMap } from '@normkit/core';
import type { SyncBatchNormInputOptions, SyncBatchNormOptions } from './options.js';
import { resolveSyncBatchNormOptions } from './options.js';
import { syncBatchNormOnnx } from './onnx.js';
import { syncBatchNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/**
 * What sync batch norm's forward keeps for backward: core's {@link NormSaved} (the local
 * input by reference; the **global** mean and $`1/\sqrt{\sigma^2 + \epsilon}`$ per channel)
 * and how the statistics were taken.
 */
export interface SyncBatchNormSaved extends NormSaved {
  /** The number of values per channel the statistics were taken over (all participants' together when synchronized; 0 for an empty input in eval). */
  readonly count: number;
  /** True when the statistics were synchronized, so backward all-reduces its sums too. */
  readonly synchronized: boolean;
}

/** The type bag of the sync-batch-norm plugin. */
export interface SyncBatchNormTypes extends NormalizerTypes {
  /** `'sync-batch-norm'`. */
  Name: 'sync-batch-norm';
  /** See {@link SyncBatchNormInputOptions}. */
  InputOptions: SyncBatchNormInputOptions;
  /** See {@link SyncBatchNormOptions}. */
  Options: SyncBatchNormOptions;
  /** γ and β, each of shape `[numFeatures]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** Batch norm's running statistics and the 0-d float64 step counter, when `trackRunningStats` is on (identical on every participant). */
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  /** See {@link SyncBatchNormSaved}. */
  Saved: SyncBatchNormSaved;
}

/** The LaTeX forward formula (also in `syncBatchNorm.meta.formula`): batch norm's, over the union of the participants' batches. */
export const SYNC_BATCH_NORM_FORMULA = 'y = \\frac{x - \\mu_c}{\\sqrt{\\sigma^2_c + \\epsilon}}\\,\\gamma_c + \\beta_c,\\quad \\mu_c, \\sigma^2_c \\text{ over } \\textstyle\\bigcup_w x^{(w)}';

/**
 * Synchronized batch normalization (PyTorch's `nn.SyncBatchNorm`) for data-parallel
 * training: each participant (worker thread) holds a replica of the layer and its share of
 * the batch, and the layer computes what batch norm computes on the **concatenation** of all
 * shares. Shares may have different sizes, as in PyTorch, and one may be empty: that
 * participant joins the all-gather with a count of 0 and the backward all-reduce with zeros,
 * and gets an empty `y` and `dx`, zero parameter gradients and the same running statistics.
 *
 * - Forward (train): each participant takes its per-channel moments (count, mean, m2) with
 *   the engine, the group all-gathers them (one `sum` of zero-padded blocks) and every
 *   participant merges them **exactly** and in rank order ({@link mergeMoments}), so all hold
 *   the same global mean and variance, and the same next running statistics (unbiased
 *   variance over the global count).
 * - Backward (after a synchronized forward): the per-channel sums Σ dy·γ and
 *   Σ dy·γ·(x − μ) are all-reduced inside the engine's backward pass
 *   (`reduceGroupSums`), so `dx` is the gradient with respect to the global statistics. The
 *   parameter gradients returned are this participant's **own** sums (as PyTorch's): sum
 *   them over the participants, as for every other parameter of a data-parallel model, to
 *   get batch norm's dγ and dβ on the concatenated batch.
 * - Eval: batch norm's, locally, with no communication (as PyTorch: the running statistics,
 *   or, without them, the local batch's statistics).
 *
 * Every participant must make the same sequence of train-mode calls. When a call fails on
 * one participant before or during its collective step (bad input, say), it aborts the
 * group, so the others' calls throw a `CollectiveError` instead of waiting; the aborted group
 * stays broken. With the default {@link loopbackAllReduce} (one participant) it is batch norm,
 * bit for bit, and `batchMoments` serves `recalibrate` as batch norm's does (collectively).
 *
 * @throws NormkitError from `create`: `E_OPTION` for bad options. From `forward` and
 *   `backward`: batch norm's errors (`E_SHAPE`, `E_DTYPE`, `E_STATE`, `E_OPTION`,
 *   `E_DEGENERATE` for one value per channel over all participants, `E_NONFINITE`).
 *   `CollectiveError` (not a `NormkitError`) when the group cannot complete a collective call.
 * @example
 * ```ts
 * // in each worker thread
 * const allReduce = connectSharedAllReduce(workerData.allReduce);
 * const bn = syncBatchNorm.create({ numFeatures: 16, allReduce });
 * const { y, state: next, saved } = bn.forward({ x: myShare, params, state, mode: 'train' });
 * const { dx, grads } = bn.backward({ dy, params, saved }); // then all-reduce grads with the rest of the model's
 * ```
 */
export const syncBatchNorm = defineNormalizer<SyncBatchNormTypes>({
  meta: {
    name: 'sync-batch-norm',
    version: VERSION,
    description: 'Synchronized batch normalization: batch norm over the union of the participants\' batches (exact all-reduced statistics and gradient sums); PyTorch SyncBatchNorm semantics.',
    formula: SYNC_BATCH_NORM_FORMULA,
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
  pytorch: syncBatchNormPyTorch,
  onnx: syncBatchNormOnnx,
  resolveOptions: resolveSyncBatchNormOptions,

  bind(options) {
    const channels = options.numFeatures;
    const tracked = options.trackRunningStats;
    const group = options.allReduce;
    const distributed = group.size > 1;
    const paramShapes: { weight?: Shape; bias?: Shape } = options.affine ? { weight: [channels], bias: [channels] } : {};
    const stateShapes: { runningMean?: Shape; runningVar?: Shape; numBatchesTracked?: Shape } = tracked
      ? { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] }
      : {};
    const axisOf = (shape: Shape) => normalizeAxis(options.channelAxis, shape.length, 'options.channelAxis');
    const shapeProblem = (shape: Shape): string | null => {
      const axis = axisOf(shape);
      return shape[axis] === channels ? null : `expected ${channels} channels (numFeatures) on axis ${axis}, got shape ${formatShape(shape)}`;
    };
    // An empty share (a participant with no samples this step) is accepted: it joins the
    // collective steps with a count of 0, as PyTorch's SyncBatchNorm does.
    const spec: ForwardSpec = { plugin: 'sync-batch-norm', minRank: 2, checkShape: shapeProblem, paramShapes, stateShapes, counters: ['numBatchesTracked'], allowEmpty: true };
    const plans = planCache((shape) => {
      const axis = axisOf(shape);
      return planNormalization(shape, [axis], options.affine ? [axis] : null);
    });

    /** Runs `step`; when it throws and the call was due to join a collective, aborts the group first. */
    const abortingOnError = <T>(collective: boolean, step: () => T): T => {
      try {
        return step();
      } catch (e) {
        if (collective && distributed) group.abort(`rank ${group.rank}: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
    };

    /**
     * Every participant's per-channel moments, by one all-gather (a sum of zero-padded
     * blocks `[count, mean_0 … mean_{C−1}, m2_0 … m2_{C−1}]`, exact).
     */
    const gatherMoments = (local: BatchStatistics | null, count: number): Moments[][] => {
      const block = 1 + 2 * channels;
      const buffer = new Float64Array(group.size * block);
      const at = group.rank * block;
      buffer[at] = count;
      // An empty share sends zeros with count 0, which mergeMoments skips.
      for (let c = 0; local !== null && c < channels; c++) {
        buffer[at + 1 + c] = local.center[c];
        buffer[at + 1 + channels + c] = local.variance[c] * count;
      }
      group.sum(buffer);
      return Array.from({ length: channels }, (_, c) =>
        Array.from({ length: group.size }, (_, w) => ({ count: buffer[w * block], mean: buffer[w * block + 1 + c], m2: buffer[w * block + 1 + channels + c] })),
      );
    };

    /** The global batch statistics (and m2, count) from the local ones (`null` for an empty share): merged exactly, in rank order. */
    const globalStatistics = (local: BatchStatistics | null, localCount: number): { stats: BatchStatistics; m2: Float64Array; count: number } => {
      if (!distributed && local !== null) {
        return { stats: local, m2: local.variance.map((v) => v * localCount), count: localCount };
      }
      const perChannel = gatherMoments(local, localCount);
      const center = new Float64Array(channels);
      const variance = new Float64Array(channels);
      const invStd = new Float64Array(channels);
      const m2 = new Float64Array(channels);
      let count = 0;
      perChannel.forEach((parts, c) => {
        const merged = parts.reduce(mergeMoments, EMPTY_MOMENTS);
        count = merged.count;
        center[c] = merged.mean;
        m2[c] = merged.m2;
        variance[c] = merged.m2 / merged.count;
        invStd[c] = 1 / Math.sqrt(variance[c] + options.eps);
      });
      return { stats: { center, variance, invStd }, m2, count };
    };

    /**
     * The global statistics of a train-mode step from this participant's (`null` for an empty
     * share), checked (more than one value per channel over all participants), and the next
     * running statistics. Every participant receives the same moments, so the check agrees everywhere.
     */
    const trainStatistics = (
      local: BatchStatistics | null,
      localCount: number,
      x: Tensor,
      state: Readonly<Record<string, Tensor>>,
      given: TensorMap<SyncBatchNormTypes['State']>,
    ): { stats: BatchStatistics; count: number; nextState: TensorMap<SyncBatchNormTypes['State']> } => {
      const { stats, m2, count } = abortingOnError(true, () => globalStatistics(local, localCount));
      if (count <= 1) {
        throw new NormkitError(
          'E_DEGENERATE',
          `x: expected more than 1 value per channel over all ${group.size} participant(s), got ${count} (input shape ${formatShape(x.shape)} here)`,
          'x',
        );
      }
      let nextState = given;
      if (tracked) {
        const batchVariance = m2.map((v) => v / (options.unbiasedRunningVar ? count - 1 : count));
        nextState = nextRunningStatistics(state as TensorMap<SyncBatchNormTypes['State']>, stats.center, batchVariance, options.momentum) as TensorMap<SyncBatchNormTypes['State']>;
      }
      return { stats, count, nextState };
    };

    /**
     * Forward of an empty share: in train mode it joins the all-gather with a count of 0 and
     * takes the same global statistics and next running statistics as the others (PyTorch's
     * SyncBatchNorm); `y` is empty. In eval mode there is nothing to compute with running
     * statistics, and no statistics to take without them (`E_DEGENERATE`, as batch norm).
     */
    const emptyForward = (
      x: Tensor,
      y: Tensor,
      state: Readonly<Record<string, Tensor>>,
      given: TensorMap<SyncBatchNormTypes['State']>,
      mode: 'train' | 'eval',
    ): { y: Tensor; state: TensorMap<SyncBatchNormTypes['State']>; saved: SyncBatchNormSaved } => {
      if (mode === 'eval') {
        if (!tracked) {
          throw new NormkitError('E_DEGENERATE', `x: expected more than 1 value per channel when using batch statistics, got input shape ${formatShape(x.shape)}`, 'x');
        }
        const runningVar = float64Values(state.runningVar);
        const invStd = runningVar.map((v) => 1 / Math.sqrt(v + options.eps));
        return { y, state: given, saved: { x, center: float64Values(state.runningMean), invStd, batchStats: false, count: 0, synchronized: false } };
      }
      const { stats, count, nextState } = trainStatistics(null, 0, x, state, given);
      return { y, state: nextState, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true, count, synchronized: distributed } };
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => stateShapes,

      init(dtype = 'float32') {
        const params = options.affine ? { weight: full([channels], dtype, 1), bias: full([channels], dtype, 0) } : {};
        return { params, state: tracked ? initialRunningStatistics(channels, dtype) : {} };
      },

      exampleShapes() {
        return withChannels([[4, 0], [2, 0, 5], [2, 0, 3, 2]], channels, options.channelAxis);
      },

      largeShapes() {
        // As batch norm's: the columns layout with 67 rows (a remainder of 3 after the rows
        // taken four at a time), the planes layout with runs of 37 and 667; channels last:
        // columns with 222 and 3335 rows.
        return withChannels([[67, 0], [6, 0, 37], [5, 0, 23, 29]], channels, options.channelAxis);
      },

      dtypes: CONTRACT_DTYPES,

      // Alone and without running statistics, eval uses the batch statistics as train does.
      modeIndependent: !tracked && !distributed,

      stateUpdate(xShape): StateUpdate | null {
        // With other participants, the statistics are those of the union of the batches.
        if (!tracked || distributed) return null;
        return {
          kind: 'moving-average',
          channelAxis: axisOf(xShape),
          momentum: options.momentum,
          counter: 'numBatchesTracked',
          statistics: { runningMean: 'mean', runningVar: options.unbiasedRunningVar ? 'unbiased-variance' : 'variance' },
        };
      },

      invariants(mode, xShape): readonly Invariant[] {
        // Σ dx = 0 per channel holds for the concatenated batch, not for one share: only alone.
        if ((mode === 'eval' && tracked) || distributed) return [];
        const axis = axisOf(xShape);
        return [{ kind: 'zero-sum', reduceAxes: xShape.map((_, k) => k).filter((k) => k !== axis) }];
      },

      validateState(state) {
        checkRunningStatistics(state);
      },

      batchMoments(x): BatchMoments {
        const { input, plan } = abortingOnError(true, () => {
          const t = assertTensor(x, 'x', { minRank: 2, allowEmpty: distributed });
          const problem = shapeProblem(t.shape);
          if (problem !== null) throw new NormkitError('E_SHAPE', `x: ${problem}`, 'x');
          return { input: t, plan: sizeOf(t.shape) === 0 ? null : plans(t.shape) };
        });
        if (plan === null) return { kind: 'pooled', groups: gatherMoments(null, 0), ...(options.unbiasedRunningVar ? {} : { runningVariance: 'biased' as const }) };
        const local = batchStatistics(viewOf(input), plan, true, 0);
        const runningVariance = options.unbiasedRunningVar ? {} : ({ runningVariance: 'biased' } as const);
        if (!distributed) {
          return {
            kind: 'pooled',
            groups: Array.from({ length: channels }, (_, c) => [{ count: plan.count, mean: local.center[c], m2: local.variance[c] * plan.count }]),
            ...runningVariance,
          };
        }
        return { kind: 'pooled', groups: gatherMoments(local, plan.count), ...runningVariance };
      },

      forward(args) {
        const collective = (args as { mode?: unknown } | null)?.mode !== 'eval';
        const { x, dtype, params, state, mode, out } = abortingOnError(collective, () => {
          const checked = checkForward(args, spec);
          checkRunningStatistics(checked.state);
          return checked;
        });
        const y = outputOf(out, x.shape, dtype);
        if (sizeOf(x.shape) === 0) return emptyForward(x, y, state, args.state, mode);
        const plan = plans(x.shape);
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        const bias = params.bias === undefined ? null : float64Values(params.bias);
        if (mode === 'eval') {
          let stats: NormStatistics;
          if (tracked) {
            const runningVar = float64Values(state.runningVar);
            stats = { center: float64Values(state.runningMean), invStd: runningVar.map((v) => 1 / Math.sqrt(v + options.eps)) };
          } else {
            if (plan.count <= 1) {
              throw new NormkitError('E_DEGENERATE', `x: expected more than 1 value per channel when using batch statistics, got input shape ${formatShape(x.shape)}`, 'x');
            }
            stats = batchStatistics(viewOf(x), plan, true, options.eps);
          }
          normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(y));
          return { y, state: args.state, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: !tracked, count: plan.count, synchronized: false } };
        }
        const local = batchStatistics(viewOf(x), plan, true, options.eps);
        const { stats, count, nextState } = trainStatistics(local, plan.count, x, state, args.state);
        normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(y));
        return { y, state: nextState, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true, count, synchronized: distributed } };
      },

      backward(args) {
        const collective = (args as { saved?: { synchronized?: unknown } } | null)?.saved?.synchronized !== false;
        const { saved, dy, params, out } = abortingOnError(collective, () => {
          const s = checkNormSaved(args.saved, 'sync-batch-norm', shapeProblem, () => channels, true) as SyncBatchNormSaved;
          // count 0: an empty share's eval call (no statistics taken).
          if (typeof s.synchronized !== 'boolean' || !(s.count >= 1 || (s.count === 0 && sizeOf(s.x.shape) === 0))) {
            const what = typeof s.synchronized !== 'boolean' || typeof s.count !== 'number' ? 'one without count and synchronized' : `count ${s.count} for an input of shape ${formatShape(s.x.shape)}`;
            throw new NormkitError('E_STATE', `saved: expected the saved value of a sync-batch-norm forward call with these options, got ${what}`, 'saved');
          }
          return { saved: s, ...checkBackward(args, s.x, spec) };
        });
        const { x } = saved;
        const dtype = dtypeOf(x);
        const dx = outputOf(out, x.shape, dtype);
        if (sizeOf(x.shape) === 0) {
          // An empty share: nothing to differentiate, but a synchronized step's all-reduce
          // still needs this participant (zeros), and its own parameter sums are zeros.
          if (saved.synchronized && distributed) abortingOnError(true, () => group.sum(new Float64Array(2 * channels)));
          return { dx, grads: options.affine ? { weight: full([channels], dtype, 0), bias: full([channels], dtype, 0) } : {} };
        }
        const plan = plans(x.shape);
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        const synchronized = saved.synchronized;
        const reduceGroupSums = (sumG: Float64Array, sumGCentered: Float64Array) => {
          const buffer = new Float64Array(2 * channels);
          buffer.set(sumG, 0);
          buffer.set(sumGCentered, channels);
          abortingOnError(true, () => group.sum(buffer));
          sumG.set(buffer.subarray(0, channels));
          sumGCentered.set(buffer.subarray(channels));
        };
        const mode = synchronized
          ? { centered: true, batchStats: true, count: saved.count, reduceGroupSums }
          : { centered: true, batchStats: saved.batchStats };
        const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, saved, weight, mode, viewOf(dx));
        if (sums === null) return { dx, grads: {} };
        const grads: { weight?: Tensor; bias?: Tensor } = {
          weight: fromArray(sums.sumDyXhat, [channels], dtype),
          bias: fromArray(sums.sumDy, [channels], dtype),
        };
        return { dx, grads };
      },
    };
  },
});
