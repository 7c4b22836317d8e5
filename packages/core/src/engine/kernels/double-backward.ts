import type { FloatArray } from '../../tensor.js';
import { isRowMajor } from '../../tensor.js';
import type { DoubleBackwardInputCall, DoubleBackwardRowsCall, DoubleBackwardSumsCall } from '../calls.js';
import type { Blocks } from '../plan.js';
import { walkRuns } from '../walk.js';
import { fromOffset } from './runs.js';

/** Scratch for the five sums of one run (kernels are synchronous and never nested). */
const runTotals = new Float64Array(5);

/**
 * The five sums of the second-order pass over one contiguous run `[p, p+len)` of one cell,
 * added into {@link runTotals}: Σa, Σa·d, Σdy, Σdy·d, Σdy·a with d = x − m.
 */
function sumsRun(x: FloatArray, dy: FloatArray, a: FloatArray, p: number, len: number, m: number): void {
  let sa = 0, sad = 0, sg = 0, sgd = 0, sga = 0;
  const end = p + len;
  for (; p < end; p++) {
    const d = x[p] - m;
    const ai = a[p];
    const gi = dy[p];
    sa += ai;
    sad += ai * d;
    sg += gi;
    sgd += gi * d;
    sga += gi * ai;
  }
  runTotals[0] += sa;
  runTotals[1] += sad;
  runTotals[2] += sg;
  runTotals[3] += sgd;
  runTotals[4] += sga;
}

/**
 * The TypeScript implementation of `doubleBackwardSums` (see {@link DoubleBackwardSumsCall}):
 * per cell, in float64, Σa, Σa·(x − c), Σdy, Σdy·(x − c) and Σdy·a, in one read of the three
 * inputs. Row-major inputs take the blocked loops (runs of one cell, or rows of cells when the
 * cell index is innermost); other views are walked in `x`'s memory order.
 *
 * @param call - see {@link DoubleBackwardSumsCall}
 */
export function doubleBackwardSumsKernel(call: DoubleBackwardSumsCall): void {
  const { x, dy, ddx, cells, center, sumDdx, sumDdxCentered, sumDy, sumDyCentered, sumDyDdx } = call;
  sumDdx.fill(0);
  sumDdxCentered.fill(0);
  sumDy.fill(0);
  sumDyCentered.fill(0);
  sumDyDdx.fill(0);
  const blocks = cells.blocks;
  if (blocks !== null && isRowMajor(x.shape, x.strides) && isRowMajor(dy.shape, dy.strides) && isRowMajor(ddx.shape, ddx.strides)) {
    sumsBlocks(x.data, x.offset, dy.data, dy.offset, ddx.data, ddx.offset, blocks, call);
    return;
  }
  const xData = x.data;
  const dyData = dy.data;
  const aData = ddx.data;
  walkRuns(x.shape, [x.strides, dy.strides, ddx.strides, cells.cellIndex.strides], [x.offset, dy.offset, ddx.offset, 0], (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let u = pointers[2];
    let j = pointers[3];
    const xStep = steps[0];
    const dyStep = steps[1];
    const aStep = steps[2];
    const jStep = steps[3];
    if (jStep === 0) {
      const m = center[j];
      let sa = 0, sad = 0, sg = 0, sgd = 0, sga = 0;
      for (let i = 0; i < length; i++, p += xStep, q += dyStep, u += aStep) {
        const d = xData[p] - m;
        const ai = aData[u];
        const gi = dyData[q];
        sa += ai;
        sad += ai * d;
        sg += gi;
        sgd += gi * d;
        sga += gi * ai;
      }
      sumDdx[j] += sa;
      sumDdxCentered[j] += sad;
      sumDy[j] += sg;
      sumDyCentered[j] += sgd;
      sumDyDdx[j] += sga;
    } else {
      for (let i = 0; i < length; i++, p += xStep, q += dyStep, u += aStep, j += jStep) {
        const d = xData[p] - center[j];
        const ai = aData[u];
        const gi = dyData[q];
        sumDdx[j] += ai;
        sumDdxCentered[j] += ai * d;
        sumDy[j] += gi;
        sumDyCentered[j] += gi * d;
        sumDyDdx[j] += gi * ai;
      }
    }
  });
}

function sumsBlocks(
  xData: FloatArray,
  xOffset: number,
  dyData: FloatArray,
  dyOffset: number,
  aData: FloatArray,
  aOffset: number,
  blocks: Blocks,
  call: DoubleBackwardSumsCall,
): void {
  const { center, sumDdx, sumDdxCentered, sumDy, sumDyCentered, sumDyDdx } = call;
  const { A, B, C, D } = blocks;
  const size = A * B * C * D;
  const x = fromOffset(xData, xOffset, size);
  const dy = fromOffset(dyData, dyOffset, size);
  const a = fromOffset(aData, aOffset, size);
  if (D > 1) {
    let p = 0;
    for (let ia = 0; ia < A; ia++) {
      const base = ia * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++, p += D) {
          const j = base + c;
          runTotals.fill(0);
          sumsRun(x, dy, a, p, D, center[j]);
          sumDdx[j] += runTotals[0];
          sumDdxCentered[j] += runTotals[1];
          sumDy[j] += runTotals[2];
          sumDyCentered[j] += runTotals[3];
          sumDyDdx[j] += runTotals[4];
        }
      }
    }
    return;
  }
  for (let ia = 0; ia < A; ia++) {
    const base = ia * C;
    for (let b = 0; b < B; b++) {
      const o = (ia * B + b) * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const d = x[o + c] - center[j];
        const ai = a[o + c];
        const gi = dy[o + c];
        sumDdx[j] += ai;
        sumDdxCentered[j] += ai * d;
        sumDy[j] += gi;
        sumDyCentered[j] += gi * d;
        sumDyDdx[j] += gi * ai;
      }
    }
  }
}

/**
 * The TypeScript implementation of `doubleBackwardInput` (see {@link DoubleBackwardInputCall}):
 * per cell $`j`$, with $`d = x - \mathrm{center}_j`$ and $`a`$ = `ddx`,
 * `dx = p·dy + q·a + r·d + k` and `ddy = e·a + f·d + h`, in one pass writing both outputs.
 *
 * @param call - see {@link DoubleBackwardInputCall}
 */
export function doubleBackwardInputKernel(call: DoubleBackwardInputCall): void {
  const { x, dy, ddx, dx, ddy, cells, center, dxDy, dxDdx, dxCentered, dxConstant, ddyDdx, ddyCentered, ddyConstant } = call;
  const blocks = cells.blocks;
  const views = [x, dy, ddx, dx, ddy];
  if (blocks !== null && views.every((v) => isRowMajor(v.shape, v.strides))) {
    inputBlocks(blocks, call);
    return;
  }
  const xData = x.data;
  const dyData = dy.data;
  const aData = ddx.data;
  const dxData = dx.data;
  const ddyData = ddy.data;
  walkRuns(
    x.shape,
    [x.strides, dy.strides, ddx.strides, dx.strides, ddy.strides, cells.cellIndex.strides],
    [x.offset, dy.offset, ddx.offset, dx.offset, ddy.offset, 0],
    (length, pointers, steps) => {
      let p = pointers[0];
      let q = pointers[1];
      let u = pointers[2];
      let o = pointers[3];
      let w = pointers[4];
      let j = pointers[5];
      const [xStep, dyStep, aStep, dxStep, ddyStep, jStep] = steps;
      for (let i = 0; i < length; i++, p += xStep, q += dyStep, u += aStep, o += dxStep, w += ddyStep, j += jStep) {
        const d = xData[p] - center[j];
        const ai = aData[u];
        dxData[o] = dxDy[j] * dyData[q] + dxDdx[j] * ai + dxCentered[j] * d + dxConstant[j];
        ddyData[w] = ddyDdx[j] * ai + ddyCentered[j] * d + ddyConstant[j];
      }
    },
  );
}

function inputBlocks(blocks: Blocks, call: DoubleBackwardInputCall): void {
  const { center, dxDy, dxDdx, dxCentered, dxConstant, ddyDdx, ddyCentered, ddyConstant } = call;
  const { A, B, C, D } = blocks;
  const size = A * B * C * D;
  const x = fromOffset(call.x.data, call.x.offset, size);
  const dy = fromOffset(call.dy.data, call.dy.offset, size);
  const a = fromOffset(call.ddx.data, call.ddx.offset, size);
  const dx = fromOffset(call.dx.data, call.dx.offset, size);
  const ddy = fromOffset(call.ddy.data, call.ddy.offset, size);
  if (D > 1) {
    let p = 0;
    for (let ia = 0; ia < A; ia++) {
      const base = ia * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          const j = base + c;
          const m = center[j];
          const cp = dxDy[j], cq = dxDdx[j], cr = dxCentered[j], ck = dxConstant[j];
          const ce = ddyDdx[j], cf = ddyCentered[j], ch = ddyConstant[j];
          const end = p + D;
          for (; p < end; p++) {
            const d = x[p] - m;
            const ai = a[p];
            dx[p] = cp * dy[p] + cq * ai + cr * d + ck;
            ddy[p] = ce * ai + cf * d + ch;
          }
        }
      }
    }
    return;
  }
  for (let ia = 0; ia < A; ia++) {
    const base = ia * C;
    for (let b = 0; b < B; b++) {
      const o = (ia * B + b) * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const p = o + c;
        const d = x[p] - center[j];
        const ai = a[p];
        dx[p] = dxDy[j] * dy[p] + dxDdx[j] * ai + dxCentered[j] * d + dxConstant[j];
        ddy[p] = ddyDdx[j] * ai + ddyCentered[j] * d + ddyConstant[j];
      }
    }
  }
}

/** Per-row coefficients of the second pass of `doubleBackwardRows`, from the row sums. */
interface RowCoefficients {
  /** s·A (the x̂ coefficient of t is −s·A, of d is −s²·A). */
  sA: number;
  /** κ·⟨a⟩. */
  kA: number;
  /** Coefficient of a in ∂S/∂x: −s²·H. */
  xA: number;
  /** Coefficient of d = x − c in ∂S/∂x: −s²·(K + ⟨x̂w⟩). */
  xD: number;
  /** Constant of ∂S/∂x: −κ·s·⟨w⟩. */
  xK: number;
}

/**
 * The per-row coefficients from the seven row sums (Σa, Σa·d, Σg, Σg·d, Σg·a, Σh, Σh·d with
 * g = γ·dy, h = Γ·dy, d = x − c): see {@link DoubleBackwardRowsCall} for the formulas.
 */
function rowCoefficients(
  s: number,
  sa: number,
  sad: number,
  sg: number,
  sgd: number,
  sga: number,
  sh: number,
  shd: number,
  kappa: number,
  inverseCount: number,
  batchStats: boolean,
  out: RowCoefficients,
): void {
  if (!batchStats) {
    out.sA = 0;
    out.kA = 0;
    out.xA = 0;
    out.xD = 0;
    out.xK = 0;
    return;
  }
  const meanA = sa * inverseCount;
  const A = s * sad * inverseCount;
  const meanG = sg * inverseCount;
  const H = s * sgd * inverseCount;
  const meanGA = sga * inverseCount;
  const meanH = sh * inverseCount;
  const meanHX = s * shd * inverseCount;
  const K = s * (meanGA - kappa * meanA * meanG - A * H);
  const meanW = meanH - s * (H * meanA + A * meanG);
  const meanXW = meanHX - 2 * s * A * H;
  out.sA = s * A;
  out.kA = kappa * meanA;
  out.xA = -s * s * H;
  out.xD = -s * s * (K + meanXW);
  out.xK = -kappa * s * meanW;
}

/**
 * The TypeScript implementation of `doubleBackwardRows` (see {@link DoubleBackwardRowsCall}):
 * pass 1 takes seven sums per row, pass 2 writes `dx` and `ddy` and adds Σ dy·t per parameter
 * entry into `weightGrad`. Row-major `(rows, features)` inputs run both passes row by row on
 * scalar accumulators; other views are walked twice in memory order with per-row sums.
 *
 * @param call - see {@link DoubleBackwardRowsCall}
 */
export function doubleBackwardRowsKernel(call: DoubleBackwardRowsCall): void {
  const { x, dy, ddx, dx, ddy, plan, rows: layout, center, invStd, centered, batchStats, weightGrad } = call;
  const features = layout.features;
  const rows = layout.rows;
  const params = plan.params;
  const weight = call.weight ?? new Float64Array(params).fill(1);
  const dgradWeight = call.dgradWeight ?? new Float64Array(params);
  const dgradBias = call.dgradBias ?? new Float64Array(params);
  const kappa = centered ? 1 : 0;
  const inverseCount = 1 / call.count;
  const coefficients: RowCoefficients = { sA: 0, kA: 0, xA: 0, xD: 0, xK: 0 };
  const views = [x, dy, ddx, dx, ddy];
  if (layout.leadingRows && views.every((v) => isRowMajor(v.shape, v.strides))) {
    const size = rows * features;
    const xs = fromOffset(x.data, x.offset, size);
    const gs = fromOffset(dy.data, dy.offset, size);
    const as = fromOffset(ddx.data, ddx.offset, size);
    const dxs = fromOffset(dx.data, dx.offset, size);
    const ddys = fromOffset(ddy.data, ddy.offset, size);
    for (let r = 0; r < rows; r++) {
      const o = r * features;
      const c = center[r];
      const s = invStd[r];
      let sa = 0, sad = 0, sg = 0, sgd = 0, sga = 0, sh = 0, shd = 0;
      for (let j = 0; j < features; j++) {
        const d = xs[o + j] - c;
        const ai = as[o + j];
        const up = gs[o + j];
        const g = up * weight[j];
        const h = up * dgradWeight[j];
        sa += ai;
        sad += ai * d;
        sg += g;
        sgd += g * d;
        sga += g * ai;
        sh += h;
        shd += h * d;
      }
      rowCoefficients(s, sa, sad, sg, sgd, sga, sh, shd, kappa, inverseCount, batchStats, coefficients);
      const { sA, kA, xA, xD, xK } = coefficients;
      for (let j = 0; j < features; j++) {
        const d = xs[o + j] - c;
        const ai = as[o + j];
        const up = gs[o + j];
        const gamma = weight[j];
        const t = s * (ai - kA - d * sA);
        dxs[o + j] = s * (dgradWeight[j] - sA * gamma) * up + xA * ai + xD * d + xK;
        ddys[o + j] = gamma * t + dgradWeight[j] * s * d + dgradBias[j];
        weightGrad[j] += up * t;
      }
    }
    return;
  }
  // General views: pass 1 accumulates the seven row sums, pass 2 writes both outputs.
  const sums = Array.from({ length: 7 }, () => new Float64Array(rows));
  const [sa, sad, sg, sgd, sga, sh, shd] = sums;
  const paramStrides = (plan.paramIndex as { strides: readonly number[] }).strides;
  const operandStrides = [x.strides, dy.strides, ddx.strides, dx.strides, ddy.strides, plan.groupIndex.strides, paramStrides];
  const offsets = [x.offset, dy.offset, ddx.offset, dx.offset, ddy.offset, 0, 0];
  const xData = x.data;
  const dyData = dy.data;
  const aData = ddx.data;
  walkRuns(x.shape, operandStrides, offsets, (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let u = pointers[2];
    let r = pointers[5];
    let j = pointers[6];
    const xStep = steps[0];
    const dyStep = steps[1];
    const aStep = steps[2];
    const rStep = steps[5];
    const jStep = steps[6];
    for (let i = 0; i < length; i++, p += xStep, q += dyStep, u += aStep, r += rStep, j += jStep) {
      const d = xData[p] - center[r];
      const ai = aData[u];
      const up = dyData[q];
      const g = up * weight[j];
      const h = up * dgradWeight[j];
      sa[r] += ai;
      sad[r] += ai * d;
      sg[r] += g;
      sgd[r] += g * d;
      sga[r] += g * ai;
      sh[r] += h;
      shd[r] += h * d;
    }
  });
  const sAs = new Float64Array(rows);
  const kAs = new Float64Array(rows);
  const xAs = new Float64Array(rows);
  const xDs = new Float64Array(rows);
  const xKs = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    rowCoefficients(invStd[r], sa[r], sad[r], sg[r], sgd[r], sga[r], sh[r], shd[r], kappa, inverseCount, batchStats, coefficients);
    sAs[r] = coefficients.sA;
    kAs[r] = coefficients.kA;
    xAs[r] = coefficients.xA;
    xDs[r] = coefficients.xD;
    xKs[r] = coefficients.xK;
  }
  const dxData = dx.data;
  const ddyData = ddy.data;
  walkRuns(x.shape, operandStrides, offsets, (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let u = pointers[2];
    let o = pointers[3];
    let w = pointers[4];
    let r = pointers[5];
    let j = pointers[6];
    const [xStep, dyStep, aStep, dxStep, ddyStep, rStep, jStep] = steps;
    for (let i = 0; i < length; i++, p += xStep, q += dyStep, u += aStep, o += dxStep, w += ddyStep, r += rStep, j += jStep) {
      const s = invStd[r];
      const d = xData[p] - center[r];
      const ai = aData[u];
      const up = dyData[q];
      const gamma = weight[j];
      const sA = sAs[r];
      const t = s * (ai - kAs[r] - d * sA);
      dxData[o] = s * (dgradWeight[j] - sA * gamma) * up + xAs[r] * ai + xDs[r] * d + xKs[r];
      ddyData[w] = gamma * t + dgradWeight[j] * s * d + dgradBias[j];
      weightGrad[j] += up * t;
    }
  });
}
