import { Layer, NormkitError, arrayTypeOf, dtypeOf, formatShape, isContiguous, numberOption, readOptions, tensor, toContiguous } from '@normkit/core';
import type { LayerInit, NormalizerTypes } from '@normkit/core';
import { defineNormalizer } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import type { BatchNormInputOptions, BatchNormOptions, BatchNormSaved } from '@normkit/batch-norm';
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

/** What the forward pass keeps: batch norm's saved value and the multiplicative factors (train mode). */
export interface NoisyBatchNormSaved {
  readonly bn: BatchNormSaved;
  readonly mult: Float64Array | null;
}

/** The type bag of {@link noisyBatchNorm}. */
export interface NoisyBatchNormTypes extends NormalizerTypes {
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
  const bn = batchNorm.resolveOptions(bnInput as unknown as BatchNormInputOptions);
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

/**
 * Batch norm followed by time-varying noise of non-zero mean and non-unit variance
 * (see {@link NoiseOptions}), as a plugin. Train mode injects the noise of step
 * `numBatchesTracked`; eval mode is plain batch norm with running statistics (no noise).
 * The noise is a pure function of the seed and the step, so `forward` stays pure and
 * `@normkit/gradcheck` can difference it.
 *
 * Backward: `dBN = m ⊙ dy`, then batch norm's backward.
 */
export const noisyBatchNorm = defineNormalizer<NoisyBatchNormTypes>({
  meta: {
    name: NAME,
    version: '0.0.0',
    description: 'Batch norm whose outputs get i.i.d. noise of random, per-step mean and scale in train mode (Santurkar et al. 2018).',
    formula: String.raw`y = m \odot \mathrm{BN}(x) + a,\quad m_{ij} = \nu_{tj}(1 + s\,\xi_{ij}),\ a_{ij} = \mu_{tj} + s\,\zeta_{ij}`,
  },
  modes: ['train', 'eval'],
  exampleOptions: [{ numFeatures: 3 }, { numFeatures: 2, seed: 5, jitter: 0.3 }],
  resolveOptions: resolve,
  paramShapes: (o) => batchNorm.paramShapes(o.bn),
  stateShapes: (o) => batchNorm.stateShapes(o.bn),
  init: (o, dtype) => batchNorm.init(o.bn, dtype),
  exampleShapes: (o) => [[5, o.bn.numFeatures]],
  invariants: (o, mode, shape) => batchNorm.invariants?.(o.bn, mode, shape) ?? [],
  forward({ x, params, state, mode }, o) {
    if (x.shape.length !== 2) throw new NormkitError('E_SHAPE', `x: expected (N, C), got ${formatShape(x.shape)}`, 'x');
    const step = state.numBatchesTracked === undefined ? 0 : state.numBatchesTracked.data[state.numBatchesTracked.offset];
    const r = batchNorm.forward({ x, params, state, mode }, o.bn);
    if (mode !== 'train') return { y: r.y, state: r.state, saved: { bn: r.saved, mult: null } };
    const [n, c] = r.y.shape;
    const { mult, add } = drawNoise(o.noise, step, n, c);
    const yc = isContiguous(r.y) ? r.y : toContiguous(r.y);
    const out = new (arrayTypeOf(dtypeOf(yc)))(n * c);
    for (let i = 0; i < n * c; i++) out[i] = mult[i] * yc.data[yc.offset + i] + add[i];
    return { y: tensor(out, [n, c]), state: r.state, saved: { bn: r.saved, mult } };
  },
  backward({ dy, params, saved }, o) {
    if (saved.mult === null) return batchNorm.backward({ dy, params, saved: saved.bn }, o.bn);
    const g = isContiguous(dy) ? dy : toContiguous(dy);
    if (g.size !== saved.mult.length) throw new NormkitError('E_SHAPE', `dy: expected ${saved.mult.length} values, got shape ${formatShape(dy.shape)}`, 'dy');
    const scaled = new (arrayTypeOf(dtypeOf(g)))(g.size);
    for (let i = 0; i < scaled.length; i++) scaled[i] = saved.mult[i] * g.data[g.offset + i];
    return batchNorm.backward({ dy: tensor(scaled, g.shape), params, saved: saved.bn }, o.bn);
  },
});

/** The stateful {@link Layer} around {@link noisyBatchNorm}. */
export class NoisyBatchNorm extends Layer<NoisyBatchNormTypes> {
  constructor(options: NoisyBatchNormInputOptions, init: LayerInit = {}) {
    super(noisyBatchNorm, options, init);
  }
}
