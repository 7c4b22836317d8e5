// Plain reference implementations for the tests: element access through `.get`, loops,
// float64 arithmetic, no shared code with the kernels. Not shipped (outside src/).
import type { Tensor } from '@normkit/core';

/** Everything the reference computes, row-major over x's shape. */
export interface ReferenceResult {
  readonly y: Float64Array;
  readonly mean: Float64Array;
  readonly invStd: Float64Array;
  readonly dx: Float64Array;
  readonly dweight: Float64Array;
  readonly dbias: Float64Array;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    index[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return index;
}

/** All values of a tensor in row-major order, read one by one with `.get`. */
export function valuesOf(t: Tensor): number[] {
  const size = t.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let flat = 0; flat < size; flat++) out.push(t.get(...unravel(flat, t.shape)));
  return out;
}

/**
 * Layer norm forward and backward, written from the definition. The input gradient is
 * the explicit Jacobian–vector product, per row,
 *   ∂y_j/∂x_k = s·γ_j·(δ_jk − 1/H − x̂_j·x̂_k/H),  dx_k = Σ_j dy_j ∂y_j/∂x_k,
 * an O(H²) form independent of the fused formula the kernels use.
 */
export function referenceLayerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  eps: number,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  dy: Tensor,
): ReferenceResult {
  const featureCount = normalizedShape.reduce((a, b) => a * b, 1);
  const xs = valuesOf(x);
  const dys = valuesOf(dy);
  const gamma = weight === undefined ? new Array<number>(featureCount).fill(1) : valuesOf(weight);
  const beta = bias === undefined ? new Array<number>(featureCount).fill(0) : valuesOf(bias);
  const rowCount = xs.length / featureCount;
  const y = new Float64Array(xs.length);
  const dx = new Float64Array(xs.length);
  const mean = new Float64Array(rowCount);
  const invStd = new Float64Array(rowCount);
  const dweight = new Float64Array(featureCount);
  const dbias = new Float64Array(featureCount);
  for (let r = 0; r < rowCount; r++) {
    const row = xs.slice(r * featureCount, (r + 1) * featureCount);
    let sum = 0;
    for (const v of row) sum += v;
    const m = sum / featureCount;
    let squares = 0;
    for (const v of row) squares += (v - m) * (v - m);
    const variance = squares / featureCount;
    const s = 1 / Math.sqrt(variance + eps);
    mean[r] = m;
    invStd[r] = s;
    const xhat = row.map((v) => (v - m) * s);
    for (let j = 0; j < featureCount; j++) {
      y[r * featureCount + j] = xhat[j] * gamma[j] + beta[j];
      dweight[j] += dys[r * featureCount + j] * xhat[j];
      dbias[j] += dys[r * featureCount + j];
    }
    for (let k = 0; k < featureCount; k++) {
      let total = 0;
      for (let j = 0; j < featureCount; j++) {
        const delta = j === k ? 1 : 0;
        const jacobian = s * gamma[j] * (delta - 1 / featureCount - (xhat[j] * xhat[k]) / featureCount);
        total += dys[r * featureCount + j] * jacobian;
      }
      dx[r * featureCount + k] = total;
    }
  }
  return { y, mean, invStd, dx, dweight, dbias };
}

/**
 * Batch norm's training arithmetic (affine off), written plainly over a matrix of
 * `batch` rows × `channels` columns: per column, mean and biased variance over the rows,
 * `y = (x − mean)/√(var + eps)`, and the batch-norm backward
 * `dx = s/m·(m·dy − Σdy − x̂·Σ(dy·x̂))` with the sums over the rows.
 */
export function referenceBatchNormColumns(
  values: readonly number[],
  upstream: readonly number[],
  batch: number,
  channels: number,
  eps: number,
): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(batch * channels);
  const dx = new Float64Array(batch * channels);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let n = 0; n < batch; n++) sum += values[n * channels + c];
    const m = sum / batch;
    let squares = 0;
    for (let n = 0; n < batch; n++) squares += (values[n * channels + c] - m) ** 2;
    const s = 1 / Math.sqrt(squares / batch + eps);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let n = 0; n < batch; n++) {
      const xhat = (values[n * channels + c] - m) * s;
      y[n * channels + c] = xhat;
      sumDy += upstream[n * channels + c];
      sumDyXhat += upstream[n * channels + c] * xhat;
    }
    for (let n = 0; n < batch; n++) {
      const xhat = (values[n * channels + c] - m) * s;
      dx[n * channels + c] = (s / batch) * (batch * upstream[n * channels + c] - sumDy - xhat * sumDyXhat);
    }
  }
  return { y, dx };
}

/**
 * The largest |a − e| over the elements, divided by max(1, max |e|): the scaled
 * absolute error of the golden README.
 */
export function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= worst)) worst = error; // NaN counts as the worst
  }
  return worst / scale;
}
