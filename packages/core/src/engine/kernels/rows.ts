import { isRowMajor } from '../../tensor.js';
import type { BackwardRowsCall, NormalizeRowsCall } from '../calls.js';
import { walkRuns } from '../walk.js';

/**
 * The TypeScript implementation of `normalizeRows`:
 * $`y = (x - c_r)\,s_r\,\gamma_j + \beta_j`$. Row-major `(rows, features)` inputs take a loop
 * over two rows at a time (each load of γ and β serves both); any other views are walked in
 * `x`'s memory order with the plan's group and parameter index maps.
 *
 * @param call - see {@link NormalizeRowsCall}
 */
export function normalizeRowsKernel(call: NormalizeRowsCall): void {
  const { x, y, plan, rows: layout, center, invStd } = call;
  const features = layout.features;
  const weight = call.weight ?? ones(plan.params);
  const bias = call.bias ?? zeros(plan.params);
  const xData = x.data;
  const yData = y.data;
  if (layout.leadingRows && isRowMajor(x.shape, x.strides) && isRowMajor(y.shape, y.strides)) {
    const rows = layout.rows;
    let row = 0;
    for (; row + 1 < rows; row += 2) {
      const m0 = center[row], m1 = center[row + 1];
      const s0 = invStd[row], s1 = invStd[row + 1];
      const in0 = x.offset + row * features, in1 = in0 + features;
      const out0 = y.offset + row * features, out1 = out0 + features;
      for (let j = 0; j < features; j++) {
        const gamma = weight[j];
        const beta = bias[j];
        yData[out0 + j] = (xData[in0 + j] - m0) * s0 * gamma + beta;
        yData[out1 + j] = (xData[in1 + j] - m1) * s1 * gamma + beta;
      }
    }
    if (row < rows) {
      const m = center[row];
      const s = invStd[row];
      const start = x.offset + row * features;
      const out = y.offset + row * features;
      for (let j = 0; j < features; j++) yData[out + j] = (xData[start + j] - m) * s * weight[j] + bias[j];
    }
    return;
  }
  const paramStrides = (plan.paramIndex as { strides: readonly number[] }).strides;
  walkRuns(x.shape, [x.strides, y.strides, plan.groupIndex.strides, paramStrides], [x.offset, y.offset, 0, 0], (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let r = pointers[2];
    let j = pointers[3];
    const xStep = steps[0];
    const yStep = steps[1];
    const rStep = steps[2];
    const jStep = steps[3];
    for (let i = 0; i < length; i++, p += xStep, q += yStep, r += rStep, j += jStep) {
      yData[q] = (xData[p] - center[r]) * invStd[r] * weight[j] + bias[j];
    }
  });
}

/**
 * The TypeScript implementation of `backwardRows` (see {@link BackwardRowsCall}): per row the
 * sums $`\sum g`$ and $`\sum g\hat x`$, then `dx`; per parameter entry $`\sum dy`$ and
 * $`\sum dy\,\hat x`$. Row-major inputs run two sweeps per row, two rows at a time, with
 * scalar accumulators; other views are walked twice in memory order.
 *
 * @param call - see {@link BackwardRowsCall}
 */
export function backwardRowsKernel(call: BackwardRowsCall): void {
  const { x, dy, dx, plan, rows: layout, center, invStd, centered, batchStats, sumDy, sumDyXhat } = call;
  const features = layout.features;
  const rows = layout.rows;
  const weight = call.weight ?? ones(plan.params);
  const meanFactor = batchStats && centered ? 1 / call.count : 0;
  const xhatFactor = batchStats ? 1 / call.count : 0;
  const xData = x.data;
  const dyData = dy.data;
  const dxData = dx.data;
  if (layout.leadingRows && isRowMajor(x.shape, x.strides) && isRowMajor(dy.shape, dy.strides) && isRowMajor(dx.shape, dx.strides)) {
    let row = 0;
    for (; row + 1 < rows; row += 2) {
      const m0 = center[row], m1 = center[row + 1];
      const s0 = invStd[row], s1 = invStd[row + 1];
      const x0 = x.offset + row * features, x1 = x0 + features;
      const d0 = dy.offset + row * features, d1 = d0 + features;
      let sumG0 = 0, sumG1 = 0, sumGX0 = 0, sumGX1 = 0;
      for (let j = 0; j < features; j++) {
        const gamma = weight[j];
        const xhat0 = (xData[x0 + j] - m0) * s0;
        const xhat1 = (xData[x1 + j] - m1) * s1;
        const up0 = dyData[d0 + j];
        const up1 = dyData[d1 + j];
        const g0 = up0 * gamma;
        const g1 = up1 * gamma;
        sumG0 += g0;
        sumG1 += g1;
        sumGX0 += g0 * xhat0;
        sumGX1 += g1 * xhat1;
        sumDyXhat[j] += up0 * xhat0 + up1 * xhat1;
        sumDy[j] += up0 + up1;
      }
      const k0 = sumG0 * meanFactor, k1 = sumG1 * meanFactor;
      const h0 = sumGX0 * xhatFactor, h1 = sumGX1 * xhatFactor;
      const o0 = dx.offset + row * features, o1 = o0 + features;
      for (let j = 0; j < features; j++) {
        const gamma = weight[j];
        dxData[o0 + j] = s0 * (dyData[d0 + j] * gamma - k0 - (xData[x0 + j] - m0) * s0 * h0);
        dxData[o1 + j] = s1 * (dyData[d1 + j] * gamma - k1 - (xData[x1 + j] - m1) * s1 * h1);
      }
    }
    if (row < rows) {
      const m = center[row];
      const s = invStd[row];
      const xs = x.offset + row * features;
      const ds = dy.offset + row * features;
      let sumG = 0;
      let sumGX = 0;
      for (let j = 0; j < features; j++) {
        const xhat = (xData[xs + j] - m) * s;
        const up = dyData[ds + j];
        const g = up * weight[j];
        sumG += g;
        sumGX += g * xhat;
        sumDyXhat[j] += up * xhat;
        sumDy[j] += up;
      }
      const k = sumG * meanFactor;
      const h = sumGX * xhatFactor;
      const os = dx.offset + row * features;
      for (let j = 0; j < features; j++) dxData[os + j] = s * (dyData[ds + j] * weight[j] - k - (xData[xs + j] - m) * s * h);
    }
    return;
  }
  // General views: pass 1 accumulates the row sums and the parameter sums, pass 2 writes dx.
  const rowSumG = new Float64Array(rows);
  const rowSumGX = new Float64Array(rows);
  const paramStrides = (plan.paramIndex as { strides: readonly number[] }).strides;
  const operandStrides = [x.strides, dy.strides, dx.strides, plan.groupIndex.strides, paramStrides];
  const offsets = [x.offset, dy.offset, dx.offset, 0, 0];
  walkRuns(x.shape, operandStrides, offsets, (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let r = pointers[3];
    let j = pointers[4];
    const xStep = steps[0];
    const dyStep = steps[1];
    const rStep = steps[3];
    const jStep = steps[4];
    for (let i = 0; i < length; i++, p += xStep, q += dyStep, r += rStep, j += jStep) {
      const xhat = (xData[p] - center[r]) * invStd[r];
      const up = dyData[q];
      const g = up * weight[j];
      rowSumG[r] += g;
      rowSumGX[r] += g * xhat;
      sumDyXhat[j] += up * xhat;
      sumDy[j] += up;
    }
  });
  for (let r = 0; r < rows; r++) {
    rowSumG[r] *= meanFactor;
    rowSumGX[r] *= xhatFactor;
  }
  walkRuns(x.shape, operandStrides, offsets, (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let o = pointers[2];
    let r = pointers[3];
    let j = pointers[4];
    const xStep = steps[0];
    const dyStep = steps[1];
    const dxStep = steps[2];
    const rStep = steps[3];
    const jStep = steps[4];
    for (let i = 0; i < length; i++, p += xStep, q += dyStep, o += dxStep, r += rStep, j += jStep) {
      const s = invStd[r];
      dxData[o] = s * (dyData[q] * weight[j] - rowSumG[r] - (xData[p] - center[r]) * s * rowSumGX[r]);
    }
  });
}

function ones(n: number): Float64Array {
  return new Float64Array(n).fill(1);
}

function zeros(n: number): Float64Array {
  return new Float64Array(n);
}
