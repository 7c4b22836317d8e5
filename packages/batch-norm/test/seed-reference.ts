// The backward pass of batch norm, staged exactly as the notes this project started
// from derive it from the computation graph (in our own words):
//
//   forward:   μ = (1/m) Σ xᵢ            σ² = (1/m) Σ (xᵢ − μ)²
//              x̂ᵢ = (xᵢ − μ) / √(σ² + ε)    yᵢ = γ x̂ᵢ + β
//
//   backward, one node of the graph at a time:
//     ∂l/∂γ   = Σᵢ ∂l/∂yᵢ · x̂ᵢ
//     ∂l/∂β   = Σᵢ ∂l/∂yᵢ
//     ∂l/∂x̂ᵢ  = ∂l/∂yᵢ · γ
//     ∂l/∂σ²  = Σᵢ ∂l/∂x̂ᵢ · (xᵢ − μ) · (−½)(σ² + ε)^(−3/2)
//     ∂l/∂μ   = Σᵢ ∂l/∂x̂ᵢ · (−1/√(σ² + ε))  + ∂l/∂σ² · (−2/m) Σᵢ (xᵢ − μ)
//     ∂l/∂xᵢ  = ∂l/∂x̂ᵢ / √(σ² + ε) + ∂l/∂σ² · 2(xᵢ − μ)/m + ∂l/∂μ / m      (three paths)
//
// Two honest notes on the notes: they write the variance as E[x²] − μ², which cancels
// catastrophically in floating point, so this reference uses the two-pass form; and their
// ∂l/∂μ leaves out the path through σ², which is harmless only because Σ(xᵢ − μ) = 0 —
// it is kept here, so every edge of the graph is visible.
//
// Plain loops over `.get`, one channel at a time, float64 throughout: slow and obvious.
import type { Tensor } from '@normkit/core';

export interface SeedReferenceResult {
  y: Float64Array;
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

/** All multi-indices of a shape, in row-major order. */
function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const index = new Array<number>(shape.length).fill(0);
  const size = shape.reduce((a, b) => a * b, 1);
  for (let n = 0; n < size; n++) {
    out.push(index.slice());
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

/**
 * Train-mode batch norm forward and backward, staged as in the seed notes.
 * Returns y and dx in row-major order of x's shape.
 */
export function seedReference(x: Tensor, dy: Tensor, gamma: number[], beta: number[], eps: number, channelAxis: number): SeedReferenceResult {
  const all = indices(x.shape);
  const flat = new Map<string, number>(all.map((idx, i) => [idx.join(','), i]));
  const channels = gamma.length;
  const y = new Float64Array(all.length);
  const dx = new Float64Array(all.length);
  const dgamma = new Float64Array(channels);
  const dbeta = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const members = all.filter((idx) => idx[channelAxis] === c);
    const m = members.length;
    const xs = members.map((idx) => x.get(...idx));
    const dys = members.map((idx) => dy.get(...idx));
    // forward
    const mu = xs.reduce((s, v) => s + v, 0) / m;
    const sigma2 = xs.reduce((s, v) => s + (v - mu) * (v - mu), 0) / m;
    const root = Math.sqrt(sigma2 + eps);
    const xhat = xs.map((v) => (v - mu) / root);
    members.forEach((idx, i) => (y[flat.get(idx.join(',')) as number] = gamma[c] * xhat[i] + beta[c]));
    // backward, node by node
    dgamma[c] = dys.reduce((s, g, i) => s + g * xhat[i], 0);
    dbeta[c] = dys.reduce((s, g) => s + g, 0);
    const dxhat = dys.map((g) => g * gamma[c]);
    const dsigma2 = dxhat.reduce((s, d, i) => s + d * (xs[i] - mu) * -0.5 * Math.pow(sigma2 + eps, -1.5), 0);
    const dmu =
      dxhat.reduce((s, d) => s + d * (-1 / root), 0) + dsigma2 * (-2 / m) * xs.reduce((s, v) => s + (v - mu), 0);
    members.forEach((idx, i) => {
      const viaXhat = dxhat[i] / root;
      const viaSigma2 = (dsigma2 * 2 * (xs[i] - mu)) / m;
      const viaMu = dmu / m;
      dx[flat.get(idx.join(',')) as number] = viaXhat + viaSigma2 + viaMu;
    });
  }
  return { y, dx, dgamma, dbeta };
}
