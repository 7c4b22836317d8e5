import {
  withChannels,
  CONTRACT_DTYPES,
  NormkitError,
  assertTensor,
  batchMomentsOf,
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
  normalizeAxis,
  normalizeBackward,
  normalizeForward,
  outputOf,
  planCache,
  planNormalization,
  viewOf,
} from '@normkit/core';
import type { Dtype, ForwardSpec, Invariant, NormSaved, NormalizerTypes, Shape, StateUpdate, Tensor, TensorMap } from '@normkit/core';
import type { BatchRenormInputOptions, BatchRenormOptions } from './options.js';
import { limitAt, resolveBatchRenormOptions } from './options.js';
import { batchRenormOnnx } from './onnx.js';
import { batchRenormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/**
 * What batch renorm's forward keeps for backward: core's {@link NormSaved} (the input by
 * reference, the batch mean and $`1/\sigma_B`$ per channel, or the running ones in eval) and
 * the correction used, per channel. Extra memory: 32·C bytes.
 */
export interface BatchRenormSaved extends NormSaved {
  /** Per channel, the r used (1 in eval). A constant for backward (stop-gradient). */
  readonly r: Float64Array;
  /** Per channel, the d used (0 in eval). A constant for backward (stop-gradient). */
  readonly d: Float64Array;
}

/** The type bag of the batch-renorm plugin. */
export interface BatchRenormTypes extends NormalizerTypes {
  /** `'batch-renorm'`. */
  Name: 'batch-renorm';
  /** See {@link BatchRenormInputOptions}. */
  InputOptions: BatchRenormInputOptions;
  /** See {@link BatchRenormOptions}. */
  Options: BatchRenormOptions;
  /** γ and β, each of shape `[numFeatures]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** Batch norm's running statistics (`[numFeatures]` each) and the 0-d float64 step counter. */
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  /** See {@link BatchRenormSaved}. */
  Saved: BatchRenormSaved;
}

/** The LaTeX training formula (also in `batchRenorm.meta.formula`). */
export const BATCH_RENORM_FORMULA = 'y = \\Big(\\frac{x - \\mu_B}{\\sigma_B}\\,r + d\\Big)\\gamma_c + \\beta_c';

/** `min(max(v, lo), hi)`. */
function clip(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/**
 * Batch renormalization (Ioffe 2017, Algorithm 1) as a normkit plugin on the normalization
 * engine. In training, with the batch statistics $`\mu_B`$, $`\sigma_B = \sqrt{\sigma^2_B + \epsilon}`$
 * (biased variance) and the running ones $`\mu`$, $`\sigma = \sqrt{\mathrm{runningVar} + \epsilon}`$,
 *
 * $$\hat x = \frac{x - \mu_B}{\sigma_B}\,r + d,\quad r = \operatorname{clip}\Big(\frac{\sigma_B}{\sigma}, \frac{1}{r_{\max}}, r_{\max}\Big),\quad d = \operatorname{clip}\Big(\frac{\mu_B - \mu}{\sigma}, -d_{\max}, d_{\max}\Big),\quad y = \hat x\,\gamma_c + \beta_c$$
 *
 * per channel. **r and d are constants for the backward pass** (stop-gradient, as the
 * paper says): `dx` is batch norm's with γ·r in place of γ, ∂L/∂γ = r·Σ dy·x̂_B + d·Σ dy. So the
 * backward pass is *not* the derivative of the forward map where r and d are not clipped
 * (there the forward map equals normalization by the running statistics); it is where they
 * are clipped, and that is where finite differences can check it.
 *
 * Eval is batch norm's eval (the running statistics; r = 1, d = 0). With `rmax = 1` and
 * `dmax = 0` training is batch norm's exactly. `rmax` and `dmax` are constants or functions of
 * the step `numBatchesTracked` (default: the paper's schedule, plain batch norm for 5000
 * steps). The running statistics follow batch norm's (PyTorch's) rule: momentum average of
 * μ_B and of the **unbiased** batch variance (the paper averages σ_B, the standard deviation:
 * `runningStd: true` does, storing σ² − ε as `runningVar`; see the package README), and
 * `batchMoments` serves `recalibrate` as batch norm's does (batch norm's population variance,
 * whatever `runningStd`).
 *
 * @throws NormkitError from `create`: `E_OPTION` for bad options. From `forward`: batch norm's
 *   errors (`E_SHAPE`, `E_DTYPE`, `E_STATE`, `E_OPTION` for a bad mode or axis,
 *   `E_DEGENERATE` for one value per channel in training, `E_NONFINITE`), and `E_OPTION`
 *   when a schedule returns an invalid limit. From `backward`: `E_SHAPE` / `E_DTYPE` for a bad
 *   `dy`, `E_STATE` for a `saved` value that does not fit.
 * @example
 * ```ts
 * const renorm = batchRenorm.create({ numFeatures: 3, rmax: 3, dmax: 5 });
 * const { params, state } = renorm.init('float64');
 * const { y, state: next, saved } = renorm.forward({ x, params, state, mode: 'train' });
 * saved.r; saved.d; // the correction used, per channel
 * const { dx, grads } = renorm.backward({ dy, params, saved });
 * ```
 */
export const batchRenorm = defineNormalizer<BatchRenormTypes>({
  meta: {
    name: 'batch-renorm',
    version: VERSION,
    description: 'Batch renormalization: batch norm corrected towards the running statistics by clipped r and d (stop-gradient); eval is batch norm\'s.',
    formula: BATCH_RENORM_FORMULA,
  },
  modes: ['train', 'eval'],
  // Finite differences can check the backward pass only where r and d are clipped (see
  // above). At gradcheck's point (one training step taken) the default schedule is still in
  // its warm-up (rmax 1, dmax 0), so these option sets check batch norm's path, the r·γ and
  // d·γ folding included; the package's tests check clipped corrections at other points.
  exampleOptions: [
    { numFeatures: 3 },
    { numFeatures: 3, affine: false },
    { numFeatures: 2, momentum: null },
    { numFeatures: 3, channelAxis: -1 },
    { numFeatures: 2, rmax: 1, dmax: 0 },
  ],
  pytorch: batchRenormPyTorch,
  onnx: batchRenormOnnx,
  resolveOptions: resolveBatchRenormOptions,

  bind(options) {
    const channels = options.numFeatures;
    const paramShapes: { weight?: Shape; bias?: Shape } = options.affine ? { weight: [channels], bias: [channels] } : {};
    const stateShapes = { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] };
    const axisOf = (shape: Shape) => normalizeAxis(options.channelAxis, shape.length, 'options.channelAxis');
    const shapeProblem = (shape: Shape): string | null => {
      const axis = axisOf(shape);
      return shape[axis] === channels ? null : `expected ${channels} channels (numFeatures) on axis ${axis}, got shape ${formatShape(shape)}`;
    };
    const spec: ForwardSpec = { plugin: 'batch-renorm', minRank: 2, checkShape: shapeProblem, paramShapes, stateShapes, counters: ['numBatchesTracked'] };
    // Parameters are always indexed by channel, so that d can shift the output without affine.
    const plans = planCache((shape) => {
      const axis = axisOf(shape);
      return planNormalization(shape, [axis], [axis]);
    });
    const ones = new Float64Array(channels).fill(1);
    const zeros = new Float64Array(channels);

    /**
     * The paper's running σ as the next `runningVar`: σ = √(runningVar + ε) moves towards
     * σ_B = √(σ²_B + ε) by α (the momentum, or 1/(step + 1) for the cumulative average), and is
     * stored as σ² − ε (at least 0), so that eval's √(runningVar + ε) is σ.
     */
    const runningStdVariance = (runningVar: Float64Array, batchVariance: Float64Array, step: number, dtype: Dtype): Tensor => {
      const rate = options.momentum ?? 1 / (step + 1);
      const next = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        const sigma = Math.sqrt(runningVar[c] + options.eps);
        const sigmaB = Math.sqrt(batchVariance[c] + options.eps);
        const moved = sigma + rate * (sigmaB - sigma);
        next[c] = Math.max(0, moved * moved - options.eps);
      }
      return fromArray(next, [channels], dtype);
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => stateShapes,

      init(dtype = 'float32') {
        const params = options.affine ? { weight: full([channels], dtype, 1), bias: full([channels], dtype, 0) } : {};
        return { params, state: initialRunningStatistics(channels, dtype) };
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

      stateUpdate(xShape): StateUpdate | null {
        // The paper's running σ is not one of the contract's update kinds (the package's tests check it).
        if (options.runningStd) return null;
        // Batch norm's running statistics; r and d only change y.
        return {
          kind: 'moving-average',
          channelAxis: axisOf(xShape),
          momentum: options.momentum,
          counter: 'numBatchesTracked',
          statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
        };
      },

      invariants(mode, xShape): readonly Invariant[] {
        if (mode === 'eval') return [];
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
        return batchMomentsOf('pooled', stats.center, stats.variance, plan.count, channels);
      },

      forward(args) {
        const { x, dtype, params, state, mode, out } = checkForward(args, spec);
        checkRunningStatistics(state);
        const plan = plans(x.shape);
        const gamma = params.weight === undefined ? ones : float64Values(params.weight);
        const beta = params.bias === undefined ? zeros : float64Values(params.bias);
        const runningMean = float64Values(state.runningMean);
        const runningVar = float64Values(state.runningVar);
        const y = outputOf(out, x.shape, dtype);
        if (mode === 'eval') {
          const invStd = runningVar.map((v) => 1 / Math.sqrt(v + options.eps));
          normalizeForward(viewOf(x), plan, { center: runningMean, invStd }, gamma, beta, viewOf(y));
          const saved = { x, center: runningMean, invStd, batchStats: false, r: ones.slice(), d: zeros.slice() };
          return { y, state: args.state, saved };
        }
        if (plan.count <= 1) {
          throw new NormkitError('E_DEGENERATE', `x: expected more than 1 value per channel when using batch statistics, got input shape ${formatShape(x.shape)}`, 'x');
        }
        const step = state.numBatchesTracked.data[state.numBatchesTracked.offset];
        const rmax = limitAt(options.rmax, step, 'rmax');
        const dmax = limitAt(options.dmax, step, 'dmax');
        const batch = batchStatistics(viewOf(x), plan, true, options.eps);
        const unbiased = batch.variance.map((v) => (v * plan.count) / (plan.count - 1));
        let nextState: TensorMap<BatchRenormTypes['State']> = nextRunningStatistics(state, batch.center, unbiased, options.momentum);
        if (options.runningStd) nextState = { ...nextState, runningVar: runningStdVariance(runningVar, batch.variance, step, dtype) };
        const r = new Float64Array(channels);
        const d = new Float64Array(channels);
        const scale = new Float64Array(channels);
        const shift = new Float64Array(channels);
        for (let c = 0; c < channels; c++) {
          const sigma = Math.sqrt(runningVar[c] + options.eps);
          r[c] = clip(Math.sqrt(batch.variance[c] + options.eps) / sigma, 1 / rmax, rmax);
          d[c] = clip((batch.center[c] - runningMean[c]) / sigma, -dmax, dmax);
          scale[c] = gamma[c] * r[c];
          shift[c] = beta[c] + gamma[c] * d[c];
        }
        normalizeForward(viewOf(x), plan, batch, scale, shift, viewOf(y));
        return { y, state: nextState, saved: { x, center: batch.center, invStd: batch.invStd, batchStats: true, r, d } };
      },

      backward(args) {
        const saved = checkNormSaved(args.saved, 'batch-renorm', shapeProblem, () => channels) as BatchRenormSaved;
        for (const name of ['r', 'd'] as const) {
          const v = saved[name] as unknown;
          if (!(v instanceof Float64Array) || v.length !== channels) {
            throw new NormkitError('E_STATE', `saved: expected the saved value of a batch-renorm forward call with these options, got ${name} that is not a Float64Array of ${channels} values`, 'saved');
          }
        }
        const { x, r, d } = saved;
        const { dy, params, out } = checkBackward(args, x, spec);
        const plan = plans(x.shape);
        const dtype = dtypeOf(x);
        const dx = outputOf(out, x.shape, dtype);
        const gamma = params.weight === undefined ? ones : float64Values(params.weight);
        const scale = gamma.map((g, c) => g * r[c]);
        // r and d are constants: batch norm's backward with γ·r in place of γ.
        const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, saved, scale, { centered: true, batchStats: saved.batchStats }, viewOf(dx));
        if (!options.affine || sums === null) return { dx, grads: {} };
        const dGamma = sums.sumDyXhat.map((s, c) => r[c] * s + d[c] * sums.sumDy[c]);
        const grads: { weight?: Tensor; bias?: Tensor } = {
          weight: fromArray(dGamma, [channels], dtype),
          bias: fromArray(sums.sumDy, [channels], dtype),
        };
        return { dx, grads };
      },
    };
  },
});
