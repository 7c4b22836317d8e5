import type { FloatArray } from '../../tensor.js';
import { isRowMajor } from '../../tensor.js';
import type { BackwardRowsCall, NormalizeRowsCall } from '../calls.js';
import { walkRuns } from '../walk.js';
import { fromOffset } from './runs.js';

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
    normalizeLeadingRows(fromOffset(xData, x.offset, layout.rows * features), fromOffset(yData, y.offset, layout.rows * features), layout.rows, features, center, invStd, weight, bias);
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

/** `(rows, features)` row-major: four rows at a time, so each load of γ and β serves four rows. */
function normalizeLeadingRows(
  x: FloatArray,
  y: FloatArray,
  rows: number,
  features: number,
  center: Float64Array,
  invStd: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
): void {
  const rows4 = rows - (rows & 3);
  let r = 0;
  for (; r < rows4; r += 4) {
    const a0 = invStd[r], a1 = invStd[r + 1], a2 = invStd[r + 2], a3 = invStd[r + 3];
    const c0 = center[r], c1 = center[r + 1], c2 = center[r + 2], c3 = center[r + 3];
    const o0 = r * features, o1 = o0 + features, o2 = o1 + features, o3 = o2 + features;
    for (let j = 0; j < features; j++) {
      const g = weight[j];
      const b = bias[j];
      y[o0 + j] = (x[o0 + j] - c0) * a0 * g + b;
      y[o1 + j] = (x[o1 + j] - c1) * a1 * g + b;
      y[o2 + j] = (x[o2 + j] - c2) * a2 * g + b;
      y[o3 + j] = (x[o3 + j] - c3) * a3 * g + b;
    }
  }
  for (; r < rows; r++) {
    const a = invStd[r];
    const c = center[r];
    const o = r * features;
    for (let j = 0; j < features; j++) y[o + j] = (x[o + j] - c) * a * weight[j] + bias[j];
  }
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
    const size = rows * features;
    backwardLeadingRows(
      fromOffset(xData, x.offset, size),
      fromOffset(dyData, dy.offset, size),
      fromOffset(dxData, dx.offset, size),
      rows,
      features,
      center,
      invStd,
      weight,
      meanFactor,
      xhatFactor,
      sumDy,
      sumDyXhat,
    );
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

/**
 * `(rows, features)` row-major backward, four rows at a time: pass 1 takes Σg and Σg·x̂ per
 * row and Σdy, Σdy·x̂ per feature; pass 2 writes `dx = s·γ·dy + B·(x − c) + K` with the per-row
 * `B = −s²h`, `K = −s·k` (h = Σg·x̂·xhatFactor, k = Σg·meanFactor).
 */
function backwardLeadingRows(
  x: FloatArray,
  dy: FloatArray,
  dx: FloatArray,
  rows: number,
  features: number,
  center: Float64Array,
  invStd: Float64Array,
  weight: Float64Array,
  meanFactor: number,
  xhatFactor: number,
  sumDy: Float64Array,
  sumDyXhat: Float64Array,
): void {
  const rows4 = rows - (rows & 3);
  let r = 0;
  for (; r < rows4; r += 4) {
    const o0 = r * features, o1 = o0 + features, o2 = o1 + features, o3 = o2 + features;
    const m0 = center[r], m1 = center[r + 1], m2 = center[r + 2], m3 = center[r + 3];
    const i0 = invStd[r], i1 = invStd[r + 1], i2 = invStd[r + 2], i3 = invStd[r + 3];
    let sg0 = 0, sg1 = 0, sg2 = 0, sg3 = 0, sx0 = 0, sx1 = 0, sx2 = 0, sx3 = 0;
    for (let j = 0; j < features; j++) {
      const gm = weight[j];
      const t0 = dy[o0 + j], t1 = dy[o1 + j], t2 = dy[o2 + j], t3 = dy[o3 + j];
      const h0 = (x[o0 + j] - m0) * i0, h1 = (x[o1 + j] - m1) * i1, h2 = (x[o2 + j] - m2) * i2, h3 = (x[o3 + j] - m3) * i3;
      const g0 = t0 * gm, g1 = t1 * gm, g2 = t2 * gm, g3 = t3 * gm;
      sg0 += g0; sg1 += g1; sg2 += g2; sg3 += g3;
      sx0 += g0 * h0; sx1 += g1 * h1; sx2 += g2 * h2; sx3 += g3 * h3;
      sumDyXhat[j] += t0 * h0 + t1 * h1 + (t2 * h2 + t3 * h3);
      sumDy[j] += t0 + t1 + (t2 + t3);
    }
    const B0 = -i0 * i0 * sx0 * xhatFactor, K0 = -i0 * sg0 * meanFactor;
    const B1 = -i1 * i1 * sx1 * xhatFactor, K1 = -i1 * sg1 * meanFactor;
    const B2 = -i2 * i2 * sx2 * xhatFactor, K2 = -i2 * sg2 * meanFactor;
    const B3 = -i3 * i3 * sx3 * xhatFactor, K3 = -i3 * sg3 * meanFactor;
    for (let j = 0; j < features; j++) {
      const gm = weight[j];
      dx[o0 + j] = i0 * gm * dy[o0 + j] + B0 * (x[o0 + j] - m0) + K0;
      dx[o1 + j] = i1 * gm * dy[o1 + j] + B1 * (x[o1 + j] - m1) + K1;
      dx[o2 + j] = i2 * gm * dy[o2 + j] + B2 * (x[o2 + j] - m2) + K2;
      dx[o3 + j] = i3 * gm * dy[o3 + j] + B3 * (x[o3 + j] - m3) + K3;
    }
  }
  for (; r < rows; r++) {
    const o = r * features;
    const m = center[r];
    const i = invStd[r];
    let sg = 0;
    let sx = 0;
    for (let j = 0; j < features; j++) {
      const t = dy[o + j];
      const h = (x[o + j] - m) * i;
      const g = t * weight[j];
      sg += g;
      sx += g * h;
      sumDyXhat[j] += t * h;
      sumDy[j] += t;
    }
    const B = -i * i * sx * xhatFactor;
    const K = -i * sg * meanFactor;
    for (let j = 0; j < features; j++) dx[o + j] = i * weight[j] * dy[o + j] + B * (x[o + j] - m) + K;
  }
}

function ones(n: number): Float64Array {
  return new Float64Array(n).fill(1);
}

function zeros(n: number): Float64Array {
  return new Float64Array(n);
}
