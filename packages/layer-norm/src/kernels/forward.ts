import type { FloatArray, Shape } from '@normkit/core';
import { forEachRun, groupMomentsKernel, isRowMajor, rowMajorStrides } from '@normkit/core';
import { featureBroadcastStrides, leadingAxes } from './views.js';

/**
 * Per-row statistics of a raw strided view: the mean and the inverse standard deviation
 * `invStd = 1 / √(var + eps)` with the **biased** variance, over the trailing
 * (normalized) axes of each leading index.
 *
 * The moments come from core's stable two-pass `groupMomentsKernel` in float64
 * (never `E[x²] − E[x]²`); the square root and the division run once per row.
 *
 * $$\mu_r = \tfrac1H \textstyle\sum_j x_{rj},\qquad \sigma_r^{-1} = \big(\tfrac1H \textstyle\sum_j (x_{rj} - \mu_r)^2 + \epsilon\big)^{-1/2}$$
 *
 * @param data - the input buffer
 * @param shape - the input's shape
 * @param strides - the input's strides (any, including negative)
 * @param offset - the input's offset
 * @param leadingRank - how many leading axes index the rows
 * @param eps - added to the variance inside the square root
 * @param mean - output: one mean per row, row-major over the leading axes
 * @param invStd - output: one `1/√(var + eps)` per row (also used as scratch for the variance)
 * @returns the number of normalized elements per row, `H` (0 when there are no rows)
 */
export function rowStatisticsKernel(
  data: FloatArray,
  shape: Shape,
  strides: readonly number[],
  offset: number,
  leadingRank: number,
  eps: number,
  mean: Float64Array,
  invStd: Float64Array,
): number {
  const featureCount = groupMomentsKernel(data, shape, strides, offset, leadingAxes(leadingRank), mean, invStd);
  const rowCount = mean.length;
  for (let row = 0; row < rowCount; row++) invStd[row] = 1 / Math.sqrt(invStd[row] + eps);
  return featureCount;
}

/**
 * The layer-norm forward map over a raw strided view, given the per-row statistics:
 *
 * $$y_{rj} = (x_{rj} - \mu_r)\,\sigma_r^{-1}\,\gamma_j + \beta_j$$
 *
 * written row-major into `out`. Arithmetic runs in float64 and is rounded once on the
 * store. A row-major input takes the contiguous fast path (rows × features, no
 * allocation at all); any other view is walked run by run in memory order with core's
 * `forEachRun`, the leading axes forming the row index.
 *
 * @param data - the input buffer
 * @param shape - the input's shape
 * @param strides - the input's strides
 * @param offset - the input's offset
 * @param leadingRank - how many leading axes index the rows
 * @param mean - per-row mean (length = number of rows)
 * @param invStd - per-row `1/√(var + eps)`
 * @param scale - per-feature weight `γ`, row-major over the normalized axes (ones without affine)
 * @param shift - per-feature bias `β`, same layout (zeros without bias)
 * @param out - output buffer, row-major, `Π shape` long, of any float type
 */
export function layerNormForwardKernel(
  data: FloatArray,
  shape: Shape,
  strides: readonly number[],
  offset: number,
  leadingRank: number,
  mean: Float64Array,
  invStd: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
  out: FloatArray,
): void {
  const rowCount = mean.length;
  const featureCount = scale.length;
  if (rowCount === 0 || featureCount === 0) return;
  if (isRowMajor(shape, strides)) {
    // Two rows at a time share each load of γ and β.
    let row = 0;
    for (; row + 1 < rowCount; row += 2) {
      const mean0 = mean[row];
      const mean1 = mean[row + 1];
      const invStd0 = invStd[row];
      const invStd1 = invStd[row + 1];
      const in0 = offset + row * featureCount;
      const in1 = in0 + featureCount;
      const out0 = row * featureCount;
      const out1 = out0 + featureCount;
      for (let feature = 0; feature < featureCount; feature++) {
        const gamma = scale[feature];
        const beta = shift[feature];
        out[out0 + feature] = (data[in0 + feature] - mean0) * invStd0 * gamma + beta;
        out[out1 + feature] = (data[in1 + feature] - mean1) * invStd1 * gamma + beta;
      }
    }
    if (row < rowCount) {
      const rowMean = mean[row];
      const rowInvStd = invStd[row];
      const inputStart = offset + row * featureCount;
      const outputStart = row * featureCount;
      for (let feature = 0; feature < featureCount; feature++) {
        out[outputStart + feature] = (data[inputStart + feature] - rowMean) * rowInvStd * scale[feature] + shift[feature];
      }
    }
    return;
  }
  const outStrides = rowMajorStrides(shape);
  const paramStrides = featureBroadcastStrides(shape, leadingRank);
  forEachRun(
    shape,
    [strides, outStrides, paramStrides],
    [offset, 0, 0],
    leadingAxes(leadingRank),
    (length, row, rowStep, pointers, steps) => {
      const inputStep = steps[0];
      const outputStep = steps[1];
      const paramStep = steps[2];
      let inputIndex = pointers[0];
      let outputIndex = pointers[1];
      let paramIndex = pointers[2];
      if (rowStep === 0) {
        const rowMean = mean[row];
        const rowInvStd = invStd[row];
        for (let i = 0; i < length; i++, inputIndex += inputStep, outputIndex += outputStep, paramIndex += paramStep) {
          out[outputIndex] = (data[inputIndex] - rowMean) * rowInvStd * scale[paramIndex] + shift[paramIndex];
        }
      } else {
        for (let i = 0, r = row; i < length; i++, r += rowStep, inputIndex += inputStep, outputIndex += outputStep, paramIndex += paramStep) {
          out[outputIndex] = (data[inputIndex] - mean[r]) * invStd[r] * scale[paramIndex] + shift[paramIndex];
        }
      }
    },
  );
}
