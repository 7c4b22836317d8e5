import type { FloatArray, Shape } from '@normkit/core';
import { forEachRun, isRowMajor, rowMajorStrides } from '@normkit/core';
import { featureBroadcastStrides, leadingAxes } from './views.js';

/**
 * The layer-norm backward pass (vector–Jacobian product) over raw strided views.
 *
 * With `x̂ = (x − μ_r)·σ_r⁻¹`, `g = dy·γ` and `H` normalized elements per row:
 *
 * $$\frac{\partial L}{\partial x_{rj}} = \frac{\sigma_r^{-1}}{H}\Big(H g_{rj} - \textstyle\sum_k g_{rk} - \hat x_{rj} \sum_k g_{rk}\hat x_{rk}\Big),\qquad
 *   \frac{\partial L}{\partial \gamma_j} = \textstyle\sum_r dy_{rj}\,\hat x_{rj},\qquad
 *   \frac{\partial L}{\partial \beta_j} = \textstyle\sum_r dy_{rj}$$
 *
 * (the batch-norm formula with the sums over each row's normalized axes). The row sums
 * and the parameter gradients accumulate in float64; `x̂` is recomputed from the saved
 * statistics rather than stored. When both `x` and `dy` are row-major the contiguous
 * fast path runs two sweeps per row with scalar accumulators (no allocation); otherwise
 * core's `forEachRun` walks the views in `x`'s memory order, with two per-row scratch
 * arrays allocated once per call.
 *
 * @param x - the forward input's buffer
 * @param shape - the shape of `x` and `dy`
 * @param xStrides - the strides of `x`
 * @param xOffset - the offset of `x`
 * @param dy - the upstream gradient's buffer
 * @param dyStrides - the strides of `dy`
 * @param dyOffset - the offset of `dy`
 * @param leadingRank - how many leading axes index the rows
 * @param mean - per-row mean saved by the forward pass
 * @param invStd - per-row `1/√(var + eps)` saved by the forward pass
 * @param scale - per-feature weight `γ`, row-major over the normalized axes (ones without affine)
 * @param dx - output: `∂L/∂x`, row-major, of any float type
 * @param dscale - output: `∂L/∂γ`, per feature; must hold zeros on entry (accumulated)
 * @param dshift - output: `∂L/∂β`, per feature; must hold zeros on entry (accumulated)
 */
export function layerNormBackwardKernel(
  x: FloatArray,
  shape: Shape,
  xStrides: readonly number[],
  xOffset: number,
  dy: FloatArray,
  dyStrides: readonly number[],
  dyOffset: number,
  leadingRank: number,
  mean: Float64Array,
  invStd: Float64Array,
  scale: Float64Array,
  dx: FloatArray,
  dscale: Float64Array,
  dshift: Float64Array,
): void {
  const rowCount = mean.length;
  const featureCount = scale.length;
  if (rowCount === 0 || featureCount === 0) return;
  const inverseFeatureCount = 1 / featureCount;
  if (isRowMajor(shape, xStrides) && isRowMajor(shape, dyStrides)) {
    // Two rows at a time: each load of γ and each update of dγ, dβ serves both rows.
    let row = 0;
    for (; row + 1 < rowCount; row += 2) {
      const mean0 = mean[row];
      const mean1 = mean[row + 1];
      const invStd0 = invStd[row];
      const invStd1 = invStd[row + 1];
      const start0 = row * featureCount;
      const start1 = start0 + featureCount;
      const x0 = xOffset + start0;
      const x1 = xOffset + start1;
      const dy0 = dyOffset + start0;
      const dy1 = dyOffset + start1;
      let sumG0 = 0;
      let sumG1 = 0;
      let sumGXhat0 = 0;
      let sumGXhat1 = 0;
      for (let feature = 0; feature < featureCount; feature++) {
        const gamma = scale[feature];
        const xhat0 = (x[x0 + feature] - mean0) * invStd0;
        const xhat1 = (x[x1 + feature] - mean1) * invStd1;
        const upstream0 = dy[dy0 + feature];
        const upstream1 = dy[dy1 + feature];
        const g0 = upstream0 * gamma;
        const g1 = upstream1 * gamma;
        sumG0 += g0;
        sumG1 += g1;
        sumGXhat0 += g0 * xhat0;
        sumGXhat1 += g1 * xhat1;
        dscale[feature] += upstream0 * xhat0 + upstream1 * xhat1;
        dshift[feature] += upstream0 + upstream1;
      }
      const meanG0 = sumG0 * inverseFeatureCount;
      const meanG1 = sumG1 * inverseFeatureCount;
      const meanGXhat0 = sumGXhat0 * inverseFeatureCount;
      const meanGXhat1 = sumGXhat1 * inverseFeatureCount;
      for (let feature = 0; feature < featureCount; feature++) {
        const gamma = scale[feature];
        const xhat0 = (x[x0 + feature] - mean0) * invStd0;
        const xhat1 = (x[x1 + feature] - mean1) * invStd1;
        dx[start0 + feature] = invStd0 * (dy[dy0 + feature] * gamma - meanG0 - xhat0 * meanGXhat0);
        dx[start1 + feature] = invStd1 * (dy[dy1 + feature] * gamma - meanG1 - xhat1 * meanGXhat1);
      }
    }
    if (row < rowCount) {
      const rowStart = row * featureCount;
      const rowMean = mean[row];
      const rowInvStd = invStd[row];
      const xStart = xOffset + rowStart;
      const dyStart = dyOffset + rowStart;
      let sumG = 0;
      let sumGXhat = 0;
      for (let feature = 0; feature < featureCount; feature++) {
        const xhat = (x[xStart + feature] - rowMean) * rowInvStd;
        const upstream = dy[dyStart + feature];
        const g = upstream * scale[feature];
        sumG += g;
        sumGXhat += g * xhat;
        dscale[feature] += upstream * xhat;
        dshift[feature] += upstream;
      }
      const meanG = sumG * inverseFeatureCount;
      const meanGXhat = sumGXhat * inverseFeatureCount;
      for (let feature = 0; feature < featureCount; feature++) {
        const xhat = (x[xStart + feature] - rowMean) * rowInvStd;
        const g = dy[dyStart + feature] * scale[feature];
        dx[rowStart + feature] = rowInvStd * (g - meanG - xhat * meanGXhat);
      }
    }
    return;
  }

  // General strided path: pass 1 accumulates the row sums and the parameter gradients,
  // pass 2 writes dx. Operands: 0 = x, 1 = dy, 2 = dx (row-major), 3 = γ broadcast.
  const rowSumG = new Float64Array(rowCount);
  const rowSumGXhat = new Float64Array(rowCount);
  const operandStrides = [xStrides, dyStrides, rowMajorStrides(shape), featureBroadcastStrides(shape, leadingRank)];
  const operandOffsets = [xOffset, dyOffset, 0, 0];
  const axes = leadingAxes(leadingRank);
  forEachRun(shape, operandStrides, operandOffsets, axes, (length, row, rowStep, pointers, steps) => {
    const xStep = steps[0];
    const dyStep = steps[1];
    const paramStep = steps[3];
    let xIndex = pointers[0];
    let dyIndex = pointers[1];
    let paramIndex = pointers[3];
    if (rowStep === 0) {
      const rowMean = mean[row];
      const rowInvStd = invStd[row];
      let sumG = 0;
      let sumGXhat = 0;
      for (let i = 0; i < length; i++, xIndex += xStep, dyIndex += dyStep, paramIndex += paramStep) {
        const xhat = (x[xIndex] - rowMean) * rowInvStd;
        const upstream = dy[dyIndex];
        const g = upstream * scale[paramIndex];
        sumG += g;
        sumGXhat += g * xhat;
        dscale[paramIndex] += upstream * xhat;
        dshift[paramIndex] += upstream;
      }
      rowSumG[row] += sumG;
      rowSumGXhat[row] += sumGXhat;
    } else {
      for (let i = 0, r = row; i < length; i++, r += rowStep, xIndex += xStep, dyIndex += dyStep, paramIndex += paramStep) {
        const xhat = (x[xIndex] - mean[r]) * invStd[r];
        const upstream = dy[dyIndex];
        const g = upstream * scale[paramIndex];
        rowSumG[r] += g;
        rowSumGXhat[r] += g * xhat;
        dscale[paramIndex] += upstream * xhat;
        dshift[paramIndex] += upstream;
      }
    }
  });
  // Per-row constants, once: the means of g and of g·x̂ over the row.
  for (let row = 0; row < rowCount; row++) {
    rowSumG[row] *= inverseFeatureCount;
    rowSumGXhat[row] *= inverseFeatureCount;
  }
  const rowMeanG = rowSumG;
  const rowMeanGXhat = rowSumGXhat;
  forEachRun(shape, operandStrides, operandOffsets, axes, (length, row, rowStep, pointers, steps) => {
    const xStep = steps[0];
    const dyStep = steps[1];
    const dxStep = steps[2];
    const paramStep = steps[3];
    let xIndex = pointers[0];
    let dyIndex = pointers[1];
    let dxIndex = pointers[2];
    let paramIndex = pointers[3];
    if (rowStep === 0) {
      const rowMean = mean[row];
      const rowInvStd = invStd[row];
      const meanG = rowMeanG[row];
      const meanGXhat = rowMeanGXhat[row];
      for (let i = 0; i < length; i++, xIndex += xStep, dyIndex += dyStep, dxIndex += dxStep, paramIndex += paramStep) {
        const xhat = (x[xIndex] - rowMean) * rowInvStd;
        const g = dy[dyIndex] * scale[paramIndex];
        dx[dxIndex] = rowInvStd * (g - meanG - xhat * meanGXhat);
      }
    } else {
      for (let i = 0, r = row; i < length; i++, r += rowStep, xIndex += xStep, dyIndex += dyStep, dxIndex += dxStep, paramIndex += paramStep) {
        const rowInvStd = invStd[r];
        const xhat = (x[xIndex] - mean[r]) * rowInvStd;
        const g = dy[dyIndex] * scale[paramIndex];
        dx[dxIndex] = rowInvStd * (g - rowMeanG[r] - xhat * rowMeanGXhat[r]);
      }
    }
  });
}
