// mean-only-batch-norm.ts: mean-only batch norm (Salimans & Kingma, 2016, §4) as a normkit
// plugin with running statistics and two modes, on the engine of @normkit/core.
import {
  NormkitError,
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
  nextRunningStatistics,
  normalizeBackward,
  normalizeForward,
  numberOption,
  outputOf,
  planCache,
  planNormalization,
  readOptions,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, NormSaved, NormalizerTypes, Shape, TensorMap } from '@normkit/core';

/** What a user may pass. */
export interface MeanOnlyInputOptions {
  /** C, the number of channels (axis 1). */
  numFeatures: number;
  /** PyTorch's momentum for the running statistics. Default `0.1`. */
  momentum?: number;
}

/** The options `bind` receives: validated, defaults filled in. */
export interface MeanOnlyOptions {
  readonly numFeatures: number;
  readonly momentum: number;
}

/** Batch norm's state names (so state dicts port), one parameter β, the engine's saved value. */
export interface MeanOnlyTypes extends NormalizerTypes {
  Name: 'mean-only-batch-norm';
  InputOptions: MeanOnlyInputOptions;
  Options: MeanOnlyOptions;
  Params: 'bias';
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  Saved: NormSaved;
}

const NAME = 'mean-only-batch-norm';

/**
 * Mean-only batch norm: y = x − μ_c + β_c. Train subtracts the batch mean of each channel
 * and updates the running statistics; eval subtracts the running mean and changes nothing.
 */
export const meanOnlyBatchNorm = defineNormalizer<MeanOnlyTypes>({
  meta: {
    name: NAME,
    version: '1.0.0',
    description: 'Mean-only batch normalization: subtracts the per-channel mean and adds a bias.',
    formula: 'y = x - \\mu_c + \\beta_c',
  },
  modes: ['train', 'eval'], // two behaviours: a checker exercises both
  exampleOptions: [{ numFeatures: 3 }, { numFeatures: 2, momentum: 0.25 }],

  resolveOptions(input) {
    const o = readOptions(input, ['numFeatures', 'momentum'], NAME);
    return {
      numFeatures: numberOption(o, 'numFeatures', undefined, { integer: true, min: 1 }, NAME),
      momentum: numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, NAME),
    };
  },

  bind(options) {
    const channels = options.numFeatures;
    const paramShapes = { bias: [channels] };
    const stateShapes = { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] };
    const shapeProblem = (shape: Shape) =>
      shape[1] === channels ? null : `expected ${channels} channels (numFeatures) on axis 1, got shape ${formatShape(shape)}`;
    const spec: ForwardSpec = { plugin: NAME, minRank: 2, checkShape: shapeProblem, paramShapes, stateShapes, counters: ['numBatchesTracked'] };
    // Statistics per channel (axis 1, reducing every other axis); β per channel too.
    const plans = planCache((shape) => planNormalization(shape, [1], [1]));
    const unitScale = new Float64Array(channels).fill(1); // mean-only: no division by σ

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => stateShapes,
      init: (dtype = 'float32') => ({ params: { bias: full([channels], dtype, 0) }, state: initialRunningStatistics(channels, dtype) }),
      exampleShapes: () => [[4, channels], [2, channels, 3]],
      // Train: y does not move when all values of a channel shift together, so Σ dx = 0 over
      // every axis but the channel axis. Eval subtracts a constant (dx = dy): no identity.
      invariants: (mode, xShape) => (mode === 'train' ? [{ kind: 'zero-sum', reduceAxes: xShape.map((_, k) => k).filter((k) => k !== 1) }] : []),
      validateState: (state) => checkRunningStatistics(state),
      // The update forward must make, for the checker to verify (without it, any state passes):
      // running ← (1 − momentum)·running + momentum·batch, the unbiased variance for runningVar.
      stateUpdate: () => ({
        kind: 'moving-average',
        channelAxis: 1,
        momentum: options.momentum,
        counter: 'numBatchesTracked',
        statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
      }),

      forward(args) {
        const { x, dtype, params, state, mode, out } = checkForward(args, spec);
        const plan = plans(x.shape);
        const batchStats = mode === 'train';
        let center: Float64Array;
        let nextState: TensorMap<MeanOnlyTypes['State']> = args.state; // eval: the state as given
        if (batchStats) {
          if (plan.count < 2) throw new NormkitError('E_DEGENERATE', `x: expected more than 1 value per channel in training, got shape ${formatShape(x.shape)}`, 'x');
          const batch = batchStatistics(viewOf(x), plan, true, 0); // per channel: mean, biased variance
          center = batch.center;
          const unbiased = batch.variance.map((v) => (v * plan.count) / (plan.count - 1));
          nextState = nextRunningStatistics(state, batch.center, unbiased, options.momentum); // new tensors
        } else {
          center = float64Values(state.runningMean);
        }
        const y = outputOf(out, x.shape, dtype);
        normalizeForward(viewOf(x), plan, { center, invStd: unitScale }, null, float64Values(params.bias), viewOf(y));
        // saved: x by reference, the center used, and whether it came from x (the mode).
        return { y, state: nextState, saved: { x, center, invStd: unitScale, batchStats } };
      },

      backward(args) {
        const saved = checkNormSaved(args.saved, NAME, shapeProblem, () => channels);
        const { x } = saved;
        const { dy, out } = checkBackward(args, x, spec);
        const plan = plans(x.shape);
        const dx = outputOf(out, x.shape, dtypeOf(x));
        // With the center held constant, y = x − c + β gives dx = dy, and Σ dy per channel = ∂L/∂β.
        const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, saved, null, { centered: true, batchStats: false }, viewOf(dx));
        const sumDy = sums?.sumDy ?? new Float64Array(channels); // never null: the plan has parameters
        if (saved.batchStats) {
          // Train: the center was the batch mean, a function of x, so dx = dy − mean_c(dy).
          const meanDy = sumDy.map((s) => s / plan.count);
          normalizeForward(viewOf(dy), plan, { center: meanDy, invStd: unitScale }, null, null, viewOf(dx));
        }
        return { dx, grads: { bias: fromArray(sumDy, [channels], dtypeOf(x)) } };
      },
    };
  },
});

// `normkit gradcheck path/to/mean-only-batch-norm.js` loads the default export.
export default meanOnlyBatchNorm;
