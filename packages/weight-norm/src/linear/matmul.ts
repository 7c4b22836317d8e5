import type { FloatArray } from '@normkit/core';

/**
 * The dense forward pass $`y = x W^\top + b`$ over row-major blocks:
 *
 * $$y_{no} = \textstyle\sum_i x_{ni} W_{oi} + b_o$$
 *
 * with float64 accumulators.
 *
 * @param x - the input buffer, `rows × inFeatures` row-major from `xOffset`
 * @param xOffset - index of `x[0, 0]`
 * @param rows - the number of input rows (the product of the leading axes)
 * @param inFeatures - the length of a row of `x`
 * @param weight - `W`, `outFeatures × inFeatures` row-major, in float64
 * @param bias - `b` (length `outFeatures`), or `null` for none
 * @param outFeatures - the length of a row of `y`
 * @param y - output, `rows × outFeatures` row-major
 */
export function linearForwardKernel(
  x: FloatArray,
  xOffset: number,
  rows: number,
  inFeatures: number,
  weight: Float64Array,
  bias: Float64Array | null,
  outFeatures: number,
  y: FloatArray,
): void {
  for (let n = 0, xRow = xOffset, yRow = 0; n < rows; n++, xRow += inFeatures, yRow += outFeatures) {
    for (let o = 0, wRow = 0; o < outFeatures; o++, wRow += inFeatures) {
      let acc = 0;
      for (let i = 0; i < inFeatures; i++) acc += x[xRow + i] * weight[wRow + i];
      y[yRow + o] = bias === null ? acc : acc + bias[o];
    }
  }
}

/**
 * The dense backward pass for $`y = x W^\top + b`$:
 *
 * $$dx = dy\,W,\qquad dW = dy^\top x,\qquad db_o = \textstyle\sum_n dy_{no}$$
 *
 * with float64 accumulators.
 *
 * @param x - the forward input, `rows × inFeatures` row-major from `xOffset`
 * @param xOffset - index of `x[0, 0]`
 * @param rows - the number of rows
 * @param inFeatures - the length of a row of `x`
 * @param weight - `W`, `outFeatures × inFeatures` row-major, in float64
 * @param outFeatures - the length of a row of `dy`
 * @param dy - the upstream gradient, `rows × outFeatures` row-major from `dyOffset`
 * @param dyOffset - index of `dy[0, 0]`
 * @param dx - output, `rows × inFeatures` row-major
 * @param dWeight - output, `outFeatures × inFeatures` (overwritten)
 * @param dBias - output, length `outFeatures` (overwritten), or `null` to skip
 */
export function linearBackwardKernel(
  x: FloatArray,
  xOffset: number,
  rows: number,
  inFeatures: number,
  weight: Float64Array,
  outFeatures: number,
  dy: FloatArray,
  dyOffset: number,
  dx: FloatArray,
  dWeight: Float64Array,
  dBias: Float64Array | null,
): void {
  dWeight.fill(0);
  dBias?.fill(0);
  const rowAcc = new Float64Array(inFeatures);
  for (let n = 0, xRow = xOffset, dyRow = dyOffset, dxRow = 0; n < rows; n++, xRow += inFeatures, dyRow += outFeatures, dxRow += inFeatures) {
    rowAcc.fill(0);
    for (let o = 0, wRow = 0; o < outFeatures; o++, wRow += inFeatures) {
      const d = dy[dyRow + o];
      if (dBias !== null) dBias[o] += d;
      for (let i = 0; i < inFeatures; i++) {
        rowAcc[i] += d * weight[wRow + i];
        dWeight[wRow + i] += d * x[xRow + i];
      }
    }
    for (let i = 0; i < inFeatures; i++) dx[dxRow + i] = rowAcc[i];
  }
}
