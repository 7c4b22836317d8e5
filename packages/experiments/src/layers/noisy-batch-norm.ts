import {
  Layer,
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
  isContiguous,
  nextRunningStatistics,
  normalizeBackward,
  normalizeForward,
  numberOption,
  outputOf,
  planCache,
  planNormalization,
  readOptions,
  toContiguous,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, Invariant, LayerInit, NormSaved, NormStatistics, NormalizerTypes, Shape, StridedView, TensorMap } from '@normkit/core';
import { resolveBatchNormOptions } from '@normkit/batch-norm';
import type { BatchNormInputOptions, BatchNormOptions } from '@normkit/batch-norm';
import { Rng, mixSeed } from '../random.js';

/**
 * The noise injected after batch norm (Santurkar et al. 2018, §2.1, "noisy BatchNorm").
 * At training step t (batch norm's `numBatchesTracked` before the step), for every unit j
 * a fresh distribution is drawn,
 *
 * ```
 * μ_tj ~ U(−shift, shift)          (non-zero mean)
 * ν_tj ~ U(scaleLow, scaleHigh)    (non-unit scale)
 * ```
 *
 * and every activation (row i, unit j) gets its own i.i.d. draw from it:
 *
 * ```
 * m_ij = ν_tj · (1 + jitter·ξ_ij),   a_ij = μ_tj + jitter·ζ_ij,   ξ, ζ ~ N(0, 1)
 * y'_ij = m_ij · BN(x)_ij + a_ij
 * ```
 *
 * So each unit's output distribution gets a random mean and a random variance that change
 * at every step, which is the "internal covariate shift" the paper injects on purpose.
 */
export interface NoiseOptions {
  /** Half-width of the uniform draw of the per-unit mean μ (default 1). */
  readonly shift: number;
  /** Lower end of the uniform draw of the per-unit scale ν (default 0.5). */
  readonly scaleLow: number;
  /** Upper end of the uniform draw of the per-unit scale ν (default 1.5). */
  readonly scaleHigh: number;
  /** Relative standard deviation of the per-activation draws around μ and ν (default 0.1). */
  readonly jitter: number;
  /** Seed of the noise stream (default 0); the step number is mixed in. */
  readonly seed: number;
}

/** Options of {@link noisyBatchNorm}: batch norm's (with running statistics) plus the noise. */
export interface NoisyBatchNormInputOptions extends BatchNormInputOptions, Partial<NoiseOptions> {}

/** Resolved options of {@link noisyBatchNorm}. */
export interface NoisyBatchNormOptions {
  readonly bn: BatchNormOptions;
  readonly noise: NoiseOptions;
}

/**
 * What the forward pass keeps: batch norm's saved value (core's {@link NormSaved}: the input,
 * and per channel the mean and 1/√(σ² + eps) used) and, in train mode, the multiplicative
 * factors `m` (row-major, float64).
 */
export interface NoisyBatchNormSaved extends NormSaved {
  readonly mult: Float64Array | null;
}

/** The type bag of {@link noisyBatchNorm}. */
export interface NoisyBatchNormTypes extends NormalizerTypes {
  Name: 'noisy-batch-norm';
  InputOptions: NoisyBatchNormInputOptions;
  Options: NoisyBatchNormOptions;
  Params: 'weight' | 'bias';
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  Saved: NoisyBatchNormSaved;
}

const NAME = 'noisy-batch-norm';
const NOISE_KEYS = ['shift', 'scaleLow', 'scaleHigh', 'jitter', 'seed'];
const BN_KEYS = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis'];

function resolve(input?: NoisyBatchNormInputOptions): NoisyBatchNormOptions {
  const o = readOptions(input, [...BN_KEYS, ...NOISE_KEYS], NAME);
  const bnInput: Record<string, unknown> = {};
  for (const key of BN_KEYS) if (key in o) bnInput[key] = o[key];
  const bn = resolveBatchNormOptions(bnInput as unknown as BatchNormInputOptions);
  if (!bn.trackRunningStats || (bn.channelAxis !== 1 && bn.channelAxis !== -1)) {
    throw new NormkitError('E_OPTION', `${NAME}: expected trackRunningStats (its step counter seeds the noise) and a channel axis of ±1 on (N, C) input`, 'options.trackRunningStats');
  }
  const scaleLow = numberOption(o, 'scaleLow', 0.5, { min: 0 }, NAME);
  return {
    bn,
    noise: {
      shift: numberOption(o, 'shift', 1, { min: 0 }, NAME),
      scaleLow,
      scaleHigh: numberOption(o, 'scaleHigh', 1.5, { min: scaleLow }, NAME),
      jitter: numberOption(o, 'jitter', 0.1, { min: 0 }, NAME),
      seed: numberOption(o, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }, NAME),
    },
  };
}

/**
 * Draws the noise of one step for an `(n, c)` batch: the multiplicative factors `m` and the
 * additive terms `a`, row-major. Deterministic in (seed, step, n, c).
 */
export function drawNoise(noise: NoiseOptions, step: number, n: number, c: number): { mult: Float64Array; add: Float64Array } {
  const rng = new Rng(mixSeed(noise.seed, step));
  const mu = new Float64Array(c);
  const nu = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    mu[j] = rng.between(-noise.shift, noise.shift);
    nu[j] = rng.between(noise.scaleLow, noise.scaleHigh);
  }
  const mult = new Float64Array(n * c);
  const add = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      mult[i * c + j] = nu[j] * (1 + noise.jitter * rng.normal());
      add[i * c + j] = mu[j] + noise.jitter * rng.normal();
    }
  }
  return { mult, add };
}

/** A row-major float64 scratch view of an `(n, c)` shape. */
function scratch(n: number, c: number): StridedView {
  return { data: new Float64Array(n * c), shape: [n, c], strides: [c, 1], offset: 0 };
}

/**
 * Batch norm followed by time-varying noise of non-zero mean and non-unit variance
 * (see {@link NoiseOptions}), as a plugin on core's normalization engine (statistics and
 * parameters per channel of an `(N, C)` input). Train mode injects the noise of step
 * `numBatchesTracked`; eval mode is plain batch norm with running statistics (no noise).
 * The noise is a pure function of the seed and the step, so `forward` stays pure and
 * `@normkit/gradcheck` can difference it.
 *
 * Forward: `BN(x)` into a float64 buffer (`normalizeForward`), then `y = m ⊙ BN(x) + a`,
 * rounded once to `x`'s dtype. Backward: `dBN = m ⊙ dy`, then batch norm's backward
 * (`normalizeBackward`). Validation, running statistics and errors are batch norm's
 * (core's `checkForward`, `nextRunningStatistics`; `E_DEGENERATE` for one row in train mode).
 */
export const noisyBatchNorm = defineNormalizer<NoisyBatchNormTypes>({
  meta: {
    name: NAME,
    version: '0.0.0',
    description: 'Batch norm whose outputs get i.i.d. noise of random, per-step mean and scale in train mode (Santurkar et al. 2018).',
    formula: String.raw`y = m \odot \mathrm{BN}(x) + a,\quad m_{ij} = \nu_{tj}(1 + s\,\xi_{ij}),\ a_{ij} = \mu_{tj} + s\,\zeta_{ij}`,
  },
  modes: ['train', 'eval'],
  exampleOptions: [{ numFeatures: 3 }, { numFeatures: 2, seed: 5, jitter: 0.3 }, { numFeatures: 3, affine: false, momentum: null }],
  resolveOptions: resolve,

  bind({ bn, noise }) {
    const channels = bn.numFeatures;
    const paramShapes: { weight?: Shape; bias?: Shape } = bn.affine ? { weight: [channels], bias: [channels] } : {};
    const stateShapes = { runningMean: [channels], runningVar: [channels], numBatchesTracked: [] };
    const spec: ForwardSpec = {
      plugin: NAME,
      minRank: 2,
      checkShape: (shape) => (shape.length === 2 && shape[1] === channels ? null : `expected (N, ${channels}), got ${formatShape(shape)}`),
      paramShapes,
      stateShapes,
      counters: ['numBatchesTracked'],
    };
    const plans = planCache((shape) => planNormalization(shape, [1], bn.affine ? [1] : null));
    const fits = (shape: readonly number[]) => spec.checkShape?.(shape) ?? null;

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => stateShapes,

      init(dtype = 'float32') {
        const params = bn.affine ? { weight: full([channels], dtype, 1), bias: full([channels], dtype, 0) } : {};
        return { params, state: initialRunningStatistics(channels, dtype) };
      },

      exampleShapes: () => [[5, channels]],

      invariants(mode, xShape): readonly Invariant[] {
        // Train: batch statistics, so Σ_rows dx = 0 per channel whatever reaches BN's output.
        return mode === 'train' ? [{ kind: 'zero-sum', reduceAxes: xShape.map((_, k) => k).filter((k) => k !== 1) }] : [];
      },

      validateState(state) {
        checkRunningStatistics(state);
      },

      forward(args) {
        const { x, dtype, params, state, mode, out } = checkForward(args, spec);
        checkRunningStatistics(state);
        const plan = plans(x.shape);
        const train = mode === 'train';
        if (train && plan.count <= 1) {
          throw new NormkitError('E_DEGENERATE', `x: expected more than 1 value per channel when using batch statistics, got input shape ${formatShape(x.shape)}`, 'x');
        }
        let stats: NormStatistics;
        let nextState: TensorMap<NoisyBatchNormTypes['State']> = args.state;
        if (train) {
          const batch = batchStatistics(viewOf(x), plan, true, bn.eps);
          const unbiased = batch.variance.map((v) => (v * plan.count) / (plan.count - 1));
          nextState = nextRunningStatistics(state, batch.center, unbiased, bn.momentum);
          stats = batch;
        } else {
          const runningVar = float64Values(state.runningVar);
          stats = { center: float64Values(state.runningMean), invStd: runningVar.map((v) => 1 / Math.sqrt(v + bn.eps)) };
        }
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        const bias = params.bias === undefined ? null : float64Values(params.bias);
        const y = outputOf(out, x.shape, dtype);
        const saved = { x, center: stats.center, invStd: stats.invStd, batchStats: train };
        if (!train) {
          normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(y));
          return { y, state: nextState, saved: { ...saved, mult: null } };
        }
        const [n, c] = x.shape;
        const normalized = scratch(n, c);
        normalizeForward(viewOf(x), plan, stats, weight, bias, normalized);
        const step = state.numBatchesTracked.data[state.numBatchesTracked.offset];
        const { mult, add } = drawNoise(noise, step, n, c);
        const z = normalized.data;
        for (let i = 0; i < n * c; i++) y.data[i] = mult[i] * z[i] + add[i];
        return { y, state: nextState, saved: { ...saved, mult } };
      },

      backward(args) {
        const saved = checkNormSaved(args.saved, NAME, fits, () => channels) as NoisyBatchNormSaved;
        const { x } = saved;
        const { dy, params, out } = checkBackward(args, x, spec);
        const [n, c] = x.shape;
        if (saved.mult !== null && !(saved.mult instanceof Float64Array && saved.mult.length === n * c)) {
          throw new NormkitError('E_STATE', `saved: expected ${n * c} noise factors for input shape ${formatShape(x.shape)}`, 'saved');
        }
        const plan = plans(x.shape);
        const dtype = dtypeOf(x);
        const dx = outputOf(out, x.shape, dtype);
        let upstream: StridedView = viewOf(dy);
        if (saved.mult !== null) {
          // dBN = m ⊙ dy, in float64.
          const g = isContiguous(dy) ? dy : toContiguous(dy);
          const scaled = scratch(n, c);
          for (let i = 0; i < n * c; i++) scaled.data[i] = saved.mult[i] * g.data[g.offset + i];
          upstream = scaled;
        }
        const weight = params.weight === undefined ? null : float64Values(params.weight);
        const sums = normalizeBackward(viewOf(x), upstream, plan, saved, weight, { centered: true, batchStats: saved.batchStats }, viewOf(dx));
        if (sums === null) return { dx, grads: {} };
        return { dx, grads: { weight: fromArray(sums.sumDyXhat, [channels], dtype), bias: fromArray(sums.sumDy, [channels], dtype) } };
      },
    };
  },
});

/** The stateful {@link Layer} around {@link noisyBatchNorm}. */
export class NoisyBatchNorm extends Layer<NoisyBatchNormTypes> {
  constructor(options: NoisyBatchNormInputOptions, init: LayerInit = {}) {
    super(noisyBatchNorm, options, init);
  }
}
