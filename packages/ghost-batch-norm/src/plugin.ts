import {
  withChannels,
  CONTRACT_DTYPES,
  EMPTY_MOMENTS,
  NormkitError,
  assertTensor,
  batchMomentsOf,
  batchStatistics,
  checkBackward,
  checkForward,
  checkNormSaved,
  checkRunningStatistics,
  defineNormalizer,
  describeValue,
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
  viewOf,
} from '@normkit/core';
import type { BatchMoments, ForwardSpec, Invariant, Moments, NormSaved, NormStatistics, NormalizerTypes, Shape, StateUpdate, Tensor, TensorMap } from '@normkit/core';
import type { GhostBatchNormInputOptions, GhostBatchNormOptions } from './options.js';
import { resolveGhostBatchNormOptions } from './options.js';
import { ghostBatchNormOnnx } from './onnx.js';
import { ghostBatchNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';
import type { VirtualBatchLayout } from './virtual-batches.js';
import { partView, virtualBatchLayout } from './virtual-batches.js';

/**
 * What ghost batch norm's forward keeps for backward: core's {@link NormSaved} with, in
 * training, the mean and $`1/\sqrt{\sigma^2 + \epsilon}`$ of every (virtual batch, channel)
 * (⌈N/V⌉·C values each, virtual-batch-major), and per channel otherwise.
 */
export interface GhostBatchNormSaved extends NormSaved {
  /** True when the statistics are per virtual batch (training). */
  readonly virtual: boolean;
}

/** The type bag of the ghost-batch-norm plugin. */
export interface GhostBatchNormTypes extends NormalizerTypes {
  /** `'ghost-batch-norm'`. */
  Name: 'ghost-batch-norm';
  /** See {@link GhostBatchNormInputOptions}. */
  InputOptions: GhostBatchNormInputOptions;
  /** See {@link GhostBatchNormOptions}. */
  Options: GhostBatchNormOptions;
  /** γ and β, each of shape `[numFeatures]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** Batch norm's running statistics and the 0-d float64 step counter, when `trackRunningStats` is on. */
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  /** See {@link GhostBatchNormSaved}. */
  Saved: GhostBatchNormSaved;
}

/** The LaTeX training formula (also in `ghostBatchNorm.meta.formula`). */
export const GHOST_BATCH_NORM_FORMULA = 'y = \\frac{x - \\mu_{v,c}}{\\sqrt{\\sigma^2_{v,c} + \\epsilon}}\\,\\gamma_c + \\beta_c';

/**
 * Ghost batch normalization (Hoffer, Hubara & Soudry 2017, "Train longer, generalize
 * better", Algorithm 1) as a normkit plugin on the normalization engine: in training, the
 * batch is cut along axis 0 into virtual batches of `virtualBatchSize` consecutive samples
 * and each is batch-normalized by its own statistics (mean and biased variance per
 * (virtual batch v, channel c)), with shared γ and β:
 *
 * $$y = \frac{x - \mu_{v,c}}{\sqrt{\sigma_{v,c}^2 + \epsilon}}\,\gamma_c + \beta_c$$
 *
 * When V does not divide N, the last virtual batch holds the N mod V remaining samples
 * (and, like any batch, needs more than one value per channel). The backward pass is batch
 * norm's within each virtual batch. No loops of its own: the full virtual batches are one
 * engine plan with the virtual batch as an extra group axis, the remainder a second plan
 * over a view.
 *
 * **Running statistics** are updated once per step, from the exact merge of the virtual
 * batches' moments (count, mean, m2; {@link mergeMoments}): the mean and **unbiased**
 * variance of the whole batch, with batch norm's (PyTorch's) momentum rule. One step
 * therefore moves them exactly as batch norm's step on the same batch would. (tf.keras's
 * `virtual_batch_size` averaged the virtual batches' means and biased variances instead,
 * also once per step; that variance leaves out the spread between the virtual batches'
 * means. Updating once per virtual batch would apply the momentum ⌈N/V⌉ times per step.)
 *
 * **Eval never uses virtual batches** (the bug of tensorflow#23050, where inference reshaped
 * by `virtual_batch_size`): it is batch norm's eval, any batch size, with the running
 * statistics (or, with `trackRunningStats: false`, the statistics of the whole batch).
 * With `virtualBatchSize ≥ N` training is batch norm's exactly.
 *
 * @throws NormkitError from `create`: `E_OPTION` for bad options. From `forward`: batch norm's
 *   errors (`E_SHAPE` — also for a channel axis that resolves to the batch axis 0 —,
 *   `E_DTYPE`, `E_STATE`, `E_OPTION`, `E_NONFINITE`) and `E_DEGENERATE` when a virtual batch
 *   has one value per channel. From `backward`: `E_SHAPE` / `E_DTYPE` for a bad `dy`,
 *   `E_STATE` for a `saved` value that does not fit.
 * @example
 * ```ts
 * const ghost = ghostBatchNorm.create({ numFeatures: 3, virtualBatchSize: 32 });
 * const { params, state } = ghost.init('float32');
 * const { y, state: next, saved } = ghost.forward({ x, params, state, mode: 'train' }); // x: (256, 3, …)
 * const { dx, grads } = ghost.backward({ dy, params, saved });
 * ```
 */
export const ghostBatchNorm = defineNormalizer<GhostBatchNormTypes>({
  meta: {
    name: 'ghost-batch-norm',
    version: VERSION,
    description: 'Ghost batch normalization: batch norm over virtual batches along the batch axis in training; running statistics (batch norm) in eval.',
    formula: GHOST_BATCH_NORM_FORMULA,
  },
  modes: ['train', 'eval'],
  exampleOptions: [
    { numFeatures: 3, virtualBatchSize: 2 },
    { numFeatures: 2, virtualBatchSize: 3, affine: false },
    { numFeatures: 3, virtualBatchSize: 2, channelAxis: -1 },
    { numFeatures: 2, virtualBatchSize: 2, momentum: null },
    { numFeatures: 2, virtualBatchSize: 3, trackRunningStats: false },
  ],
  // Virtual batches of 4 to 6 samples: the engine's loops over the samples of a virtual batch
  // run four at a time with a remainder.
  largeOptions: [
    { numFeatures: 3, virtualBatchSize: 6 },
    { numFeatures: 2, virtualBatchSize: 5, affine: false },
    { numFeatures: 3, virtualBatchSize: 6, channelAxis: -1 },
    { numFeatures: 2, virtualBatchSize: 4, momentum: null },
    { numFeatures: 2, virtualBatchSize: 5, trackRunningStats: false },
  ],
  pytorch: ghostBatchNormPyTorch,
  onnx: ghostBatchNormOnnx,
  resolveOptions: resolveGhostBatchNormOptions,

  bind(options) {
    const channels = options.numFeatures;
    const size = options.virtualBatchSize;
    const tracked = options.trackRunningStats;
    const paramShapes: { weight?: Shape; bias?: Shape } = options.affine ? { weight: [channels], bias: [channels] } : {};
    const stateShapes: { runningMean?: Shape; runningVar?: Shape; numBatchesTracked?: Shape } = tracked
      ? { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] }
      : {};
    const axisOf = (shape: Shape) => normalizeAxis(options.channelAxis, shape.length, 'options.channelAxis');
    const shapeProblem = (shape: Shape): string | null => {
      const axis = axisOf(shape);
      if (axis === 0) return `expected the channel axis after the batch axis 0, got channelAxis ${options.channelAxis} for rank ${shape.length}`;
      return shape[axis] === channels ? null : `expected ${channels} channels (numFeatures) on axis ${axis}, got shape ${formatShape(shape)}`;
    };
    const spec: ForwardSpec = { plugin: 'ghost-batch-norm', minRank: 2, checkShape: shapeProblem, paramShapes, stateShapes, counters: ['numBatchesTracked'] };
    const wholePlans = planCache((shape) => {
      const axis = axisOf(shape);
      return planNormalization(shape, [axis], options.affine ? [axis] : null);
    });
    const layouts = new Map<string, VirtualBatchLayout>();
    const layoutOf = (shape: Shape): VirtualBatchLayout => {
      const key = shape.join(',');
      let layout = layouts.get(key);
      if (layout === undefined) {
        layout = virtualBatchLayout(shape, axisOf(shape), size, options.affine);
        if (layouts.size >= 8) layouts.delete(layouts.keys().next().value as string);
        layouts.set(key, layout);
      }
      return layout;
    };
    const checkVirtualBatches = (shape: Shape, layout: VirtualBatchLayout) => {
      const small = layout.parts.find((p) => p.plan.count <= 1);
      if (small !== undefined) {
        const which = small.batches === 1 && small.start > 0 ? `the last virtual batch (samples ${small.start}..${shape[0] - 1}, the remainder of ${shape[0]} mod ${size})` : `a virtual batch of ${size} sample(s)`;
        throw new NormkitError(
          'E_DEGENERATE',
          `x: expected more than 1 value per channel in every virtual batch, got 1 in ${which} for input shape ${formatShape(shape)} (use a batch size that leaves a remainder of 0 or ≥ 2 samples, or a larger virtualBatchSize)`,
          'x',
        );
      }
    };
    /** Statistics per (virtual batch, channel), concatenated over the parts. */
    const virtualStatistics = (view: ReturnType<typeof viewOf>, layout: VirtualBatchLayout, eps: number) => {
      const center = new Float64Array(layout.groups);
      const variance = new Float64Array(layout.groups);
      const invStd = new Float64Array(layout.groups);
      for (const part of layout.parts) {
        const s = batchStatistics(partView(view, part), part.plan, true, eps);
        center.set(s.center, part.groupOffset);
        variance.set(s.variance, part.groupOffset);
        invStd.set(s.invStd, part.groupOffset);
      }
      return { center, variance, invStd };
    };
    const statsOfPart = (stats: NormStatistics, offset: number, groups: number): NormStatistics => ({
      center: stats.center.subarray(offset, offset + groups),
      invStd: stats.invStd.subarray(offset, offset + groups),
    });

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => stateShapes,

      init(dtype = 'float32') {
        const params = options.affine ? { weight: full([channels], dtype, 1), bias: full([channels], dtype, 0) } : {};
        return { params, state: tracked ? initialRunningStatistics(channels, dtype) : {} };
      },

      exampleShapes() {
        // two full virtual batches; and an uneven remainder of one sample with 3 positions
        const bases = size >= 2 ? [[2 * size, 0], [2 * size + 1, 0, 3]] : [[3, 0, 3], [2, 0, 2, 2]];
        return withChannels(bases, channels, options.channelAxis);
      },

      largeShapes() {
        // Many virtual batches (A > 1 in the engine's blocks) with remainders: of 2 samples in
        // (N, C) (a remainder of 1 would leave one value per channel), 1 sample with 37
        // positions, and 3 samples with 11·13 positions (runs unrolled by four, remainders).
        const rows = 8 * size + (size >= 3 ? 2 : 0);
        return withChannels([[rows, 0], [4 * size + 1, 0, 37], [2 * size + 3, 0, 11, 13]], channels, options.channelAxis);
      },

      dtypes: CONTRACT_DTYPES,

      stateUpdate(xShape): StateUpdate | null {
        // Once per step, from the whole batch (the exact merge of its virtual batches).
        if (!tracked) return null;
        return {
          kind: 'moving-average',
          channelAxis: axisOf(xShape),
          momentum: options.momentum,
          counter: 'numBatchesTracked',
          statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
        };
      },

      invariants(mode, xShape): readonly Invariant[] {
        if (mode === 'eval' && tracked) return [];
        const axis = axisOf(xShape);
        const others = xShape.map((_, k) => k).filter((k) => k !== axis);
        const samples = xShape[0];
        if (mode === 'eval' || samples <= size || samples % size !== 0) {
          // one virtual batch, or eval on the whole batch: per channel; with an uneven
          // remainder, the per-virtual-batch sums still add up to zero per channel
          return [{ kind: 'zero-sum', reduceAxes: others }];
        }
        // Σ dx = 0 over each (virtual batch, channel): axis 0 split into (N/V, V)
        const reduceAxes = [1, ...others.filter((k) => k !== 0).map((k) => k + 1)];
        return [{ kind: 'zero-sum', reduceAxes, split: { axis: 0, sizes: [samples / size, size] } }];
      },

      validateState(state) {
        checkRunningStatistics(state);
      },

      batchMoments(x): BatchMoments {
        const input = assertTensor(x, 'x', { minRank: 2 });
        const problem = shapeProblem(input.shape);
        if (problem !== null) throw new NormkitError('E_SHAPE', `x: ${problem}`, 'x');
        const layout = layoutOf(input.shape);
        const groups: Moments[][] = Array.from({ length: channels }, () => []);
        for (const part of layout.parts) {
          const s = batchStatistics(partView(viewOf(input), part), part.plan, true, 0);
          const partMoments = batchMomentsOf('pooled', s.center, s.variance, part.plan.count, channels);
          partMoments.groups.forEach((g, c) => groups[c].push(...g));
        }
        return { kind: 'pooled', groups };
      },

      forward(args) {
        const { x, dtype, params, state, mode, out } = checkForward(args, spec);
        checkRunningStatistics(state);
        const y = outputOf(out, x.shape, dtype);
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        const bias = params.bias === undefined ? null : float64Values(params.bias);
        if (mode === 'eval') {
          const plan = wholePlans(x.shape);
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
          return { y, state: args.state, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: !tracked, virtual: false } };
        }
        const layout = layoutOf(x.shape);
        checkVirtualBatches(x.shape, layout);
        const stats = virtualStatistics(viewOf(x), layout, options.eps);
        let nextState: TensorMap<GhostBatchNormTypes['State']> = args.state;
        if (tracked) {
          // Once per step: the exact merge of the virtual batches' moments = the whole batch's.
          const mean = new Float64Array(channels);
          const unbiased = new Float64Array(channels);
          for (let c = 0; c < channels; c++) {
            let merged: Moments = EMPTY_MOMENTS;
            for (const part of layout.parts) {
              const count = part.plan.count;
              for (let v = 0; v < part.batches; v++) {
                const g = part.groupOffset + v * channels + c;
                merged = mergeMoments(merged, { count, mean: stats.center[g], m2: stats.variance[g] * count });
              }
            }
            mean[c] = merged.mean;
            unbiased[c] = merged.m2 / (merged.count - 1);
          }
          nextState = nextRunningStatistics(state, mean, unbiased, options.momentum);
        }
        const xView = viewOf(x);
        const yView = viewOf(y);
        for (const part of layout.parts) {
          normalizeForward(partView(xView, part), part.plan, statsOfPart(stats, part.groupOffset, part.plan.groups), weight, bias, partView(yView, part));
        }
        return { y, state: nextState, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true, virtual: true } };
      },

      backward(args) {
        const raw = args.saved as Partial<GhostBatchNormSaved> | null;
        const virtual = typeof raw === 'object' && raw !== null ? raw.virtual : undefined;
        if (typeof virtual !== 'boolean') {
          throw new NormkitError('E_STATE', `saved: expected the saved value of a ghost-batch-norm forward call with these options, got ${describeValue(virtual === undefined ? raw : virtual)}`, 'saved');
        }
        const groupsOf = (shape: Shape) => (virtual ? layoutOf(shape).groups : channels);
        const saved = checkNormSaved(args.saved, 'ghost-batch-norm', shapeProblem, groupsOf);
        const { x } = saved;
        const { dy, params, out } = checkBackward(args, x, spec);
        const dtype = dtypeOf(x);
        const dx = outputOf(out, x.shape, dtype);
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        const sumDy = new Float64Array(channels);
        const sumDyXhat = new Float64Array(channels);
        const mode = { centered: true, batchStats: saved.batchStats };
        if (!virtual) {
          const sums = normalizeBackward(viewOf(x), viewOf(dy), wholePlans(x.shape), saved, weight, mode, viewOf(dx));
          if (sums !== null) {
            sumDy.set(sums.sumDy);
            sumDyXhat.set(sums.sumDyXhat);
          }
        } else {
          const layout = layoutOf(x.shape);
          const [xView, dyView, dxView] = [viewOf(x), viewOf(dy), viewOf(dx)];
          for (const part of layout.parts) {
            const stats = statsOfPart(saved, part.groupOffset, part.plan.groups);
            const sums = normalizeBackward(partView(xView, part), partView(dyView, part), part.plan, stats, weight, mode, partView(dxView, part));
            if (sums === null) continue;
            for (let c = 0; c < channels; c++) {
              sumDy[c] += sums.sumDy[c];
              sumDyXhat[c] += sums.sumDyXhat[c];
            }
          }
        }
        if (!options.affine) return { dx, grads: {} };
        const grads: { weight?: Tensor; bias?: Tensor } = {
          weight: fromArray(sumDyXhat, [channels], dtype),
          bias: fromArray(sumDy, [channels], dtype),
        };
        return { dx, grads };
      },
    };
  },
});
