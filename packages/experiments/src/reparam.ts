import { fromArray, tensor, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { weightNormLinear } from '@normkit/weight-norm';
import { dense } from './layers/dense.js';
import { Rng } from './random.js';

/**
 * The weight that batch norm implicitly uses (the notes' "Deeper Intuition", after Kohler
 * et al.): for zero-mean inputs x (rows of an `(N, in)` batch) and a weight W `(in, out)`,
 *
 * ```
 * BN_γ,β=0(x·W)_j = x·Ŵ_j,    Ŵ_j = γ_j · W_j / √(W_jᵀ S W_j + eps),    S = xᵀx / N
 * ```
 *
 * S is the **biased** covariance (batch norm's variance divides by N) and eps is batch
 * norm's eps, inside the root exactly where batch norm puts it; with both, the identity is
 * exact, not approximate. Returns Ŵ `(in, out)` in float64.
 */
export function batchNormEquivalentWeight(x: Float64Array, n: number, w: Float64Array, inF: number, outF: number, gamma: Float64Array, eps: number): Float64Array {
  // S = xᵀx / N (biased covariance of zero-mean x).
  const s = new Float64Array(inF * inF);
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < inF; a++) {
      const xa = x[r * inF + a];
      for (let b = 0; b < inF; b++) s[a * inF + b] += (xa * x[r * inF + b]) / n;
    }
  }
  const out = new Float64Array(inF * outF);
  for (let j = 0; j < outF; j++) {
    let q = 0; // W_jᵀ S W_j
    for (let a = 0; a < inF; a++) {
      let sw = 0;
      for (let b = 0; b < inF; b++) sw += s[a * inF + b] * w[b * outF + j];
      q += w[a * outF + j] * sw;
    }
    const scale = gamma[j] / Math.sqrt(q + eps);
    for (let a = 0; a < inF; a++) out[a * outF + j] = scale * w[a * outF + j];
  }
  return out;
}

/** A seeded (n, inF) float64 batch whose columns have mean exactly zero up to rounding. */
export function zeroMeanBatch(n: number, inF: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(n * inF);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() * (1 + (i % inF)) * 0.5;
  for (let a = 0; a < inF; a++) {
    let m = 0;
    for (let r = 0; r < n; r++) m += x[r * inF + a];
    m /= n;
    for (let r = 0; r < n; r++) x[r * inF + a] -= m;
  }
  return x;
}

/**
 * A zero-mean batch with identity covariance xᵀx/N = I (Gram–Schmidt on centred columns,
 * scaled by √N): there batch norm's S is I and the reparameterization is weight norm's.
 */
export function whitenedBatch(n: number, inF: number, seed: number): Float64Array {
  const x = zeroMeanBatch(n, inF, seed);
  for (let a = 0; a < inF; a++) {
    for (let twice = 0; twice < 2; twice++) {
      for (let b = 0; b < a; b++) {
        let d = 0;
        for (let r = 0; r < n; r++) d += x[r * inF + a] * x[r * inF + b];
        for (let r = 0; r < n; r++) x[r * inF + a] -= d * x[r * inF + b];
      }
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += x[r * inF + a] ** 2;
    norm = Math.sqrt(norm);
    for (let r = 0; r < n; r++) x[r * inF + a] /= norm;
  }
  for (let i = 0; i < x.length; i++) x[i] *= Math.sqrt(n);
  return x;
}

/** The outcome of {@link checkReparameterization}. */
export interface ReparamCheck {
  readonly n: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly eps: number;
  /** max |BN(x·W) − x·Ŵ| over the batch, with Ŵ from the batch covariance S. */
  readonly batchNormMaxAbsError: number;
  /** max |BN(x·W)| (the size of what is compared). */
  readonly batchNormMaxAbs: number;
  /** On a whitened batch (S = I): max |BN(x·W) − WeightNormLinear(v = Wᵀ, g = γ, eps)(x)|. */
  readonly weightNormMaxAbsError: number;
  readonly weightNormMaxAbs: number;
}

function maxAbsDiff(a: Tensor, b: Tensor): { err: number; size: number } {
  const x = toTypedArray(a);
  const y = toTypedArray(b);
  let err = 0;
  let size = 0;
  for (let i = 0; i < x.length; i++) {
    err = Math.max(err, Math.abs(x[i] - y[i]));
    size = Math.max(size, Math.abs(x[i]));
  }
  return { err, size };
}

/**
 * Checks the reparameterization numerically in float64 with our own plugins:
 *
 * 1. zero-mean x: `batchNorm` (train mode, β = 0, random γ) of `dense`(x; W, no bias)
 *    against `dense`(x; Ŵ) with Ŵ from {@link batchNormEquivalentWeight};
 * 2. whitened x (S = I): the same batch norm against `weightNormLinear` with `v = Wᵀ`,
 *    `g = γ`, no bias and the same eps (`‖v‖ = √(Σv² + eps)`): weight normalization.
 */
export function checkReparameterization(n = 64, inF = 12, outF = 7, eps = 1e-5, seed = 7): ReparamCheck {
  const rng = new Rng(seed);
  const w = new Float64Array(inF * outF).map(() => rng.normal());
  const gamma = new Float64Array(outF).map(() => 0.5 + rng.uniform() * 2);
  const bn = batchNorm.create({ numFeatures: outF, eps });
  const bnParams = { weight: fromArray(gamma, [outF], 'float64'), bias: fromArray(new Float64Array(outF), [outF], 'float64') };
  const bnState = bn.init('float64').state;
  const denseNoBias = dense.create({ inFeatures: inF, outFeatures: outF, bias: false });
  const linear = (x: Tensor, weight: Float64Array): Tensor => denseNoBias.forward({ x, params: { weight: tensor(weight, [inF, outF]) }, state: {}, mode: 'train' }).y;
  const bnOf = (x: Tensor): Tensor => bn.forward({ x: linear(x, w), params: bnParams, state: bnState, mode: 'train' }).y;

  // 1. Batch norm = x·Ŵ with S the batch covariance.
  const xData = zeroMeanBatch(n, inF, seed + 1);
  const x = tensor(xData, [n, inF]);
  const hat = batchNormEquivalentWeight(xData, n, w, inF, outF, gamma, eps);
  const first = maxAbsDiff(bnOf(x), linear(x, hat));

  // 2. With S = I it is weight normalization.
  const white = tensor(whitenedBatch(n, inF, seed + 2), [n, inF]);
  const v = new Float64Array(outF * inF);
  for (let a = 0; a < inF; a++) for (let j = 0; j < outF; j++) v[j * inF + a] = w[a * outF + j];
  const wnLinear = weightNormLinear.create({ inFeatures: inF, outFeatures: outF, bias: false, eps });
  const wn = wnLinear.forward({ x: white, params: { v: tensor(v, [outF, inF]), g: fromArray(gamma, [outF], 'float64') }, state: {}, mode: 'train' }).y;
  const second = maxAbsDiff(bnOf(white), wn);
  return {
    n,
    inFeatures: inF,
    outFeatures: outF,
    eps,
    batchNormMaxAbsError: first.err,
    batchNormMaxAbs: first.size,
    weightNormMaxAbsError: second.err,
    weightNormMaxAbs: second.size,
  };
}
