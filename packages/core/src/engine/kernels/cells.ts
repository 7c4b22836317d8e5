import type { FloatArray } from '../../tensor.js';
import { isRowMajor } from '../../tensor.js';
import type { GradientSumsCall, InputGradientCall, NormalizeCellsCall } from '../calls.js';
import type { Blocks } from '../plan.js';
import { walkRuns } from '../walk.js';
import { affineRun, fromOffset, gradientSumsRun, inputGradientRun, runSums } from './runs.js';

/**
 * The TypeScript implementation of `normalizeCells`:
 * $`y = (x - \mathrm{center}_j)\cdot\mathrm{scale}_j + \mathrm{shift}_j`$ per cell $`j`$.
 * Row-major `x` and `y` take the blocked loops (runs of one cell, or four rows at a time
 * when the cell index is innermost); any other views are walked in `x`'s memory order.
 *
 * @param call - see {@link NormalizeCellsCall}
 */
export function normalizeCellsKernel(call: NormalizeCellsCall): void {
  const { x, y, cells, center, scale, shift } = call;
  const blocks = cells.blocks;
  if (blocks !== null && isRowMajor(x.shape, x.strides) && isRowMajor(y.shape, y.strides)) {
    normalizeBlocks(x.data, x.offset, y.data, y.offset, blocks, center, scale, shift);
    return;
  }
  const xData = x.data;
  const yData = y.data;
  walkRuns(x.shape, [x.strides, y.strides, cells.cellIndex.strides], [x.offset, y.offset, 0], (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let j = pointers[2];
    const xStep = steps[0];
    const yStep = steps[1];
    const jStep = steps[2];
    if (jStep === 0) {
      const m = center[j];
      const s = scale[j];
      const t = shift[j];
      for (let i = 0; i < length; i++, p += xStep, q += yStep) yData[q] = (xData[p] - m) * s + t;
    } else {
      for (let i = 0; i < length; i++, p += xStep, q += yStep, j += jStep) yData[q] = (xData[p] - center[j]) * scale[j] + shift[j];
    }
  });
}

function normalizeBlocks(
  xData: FloatArray,
  xOffset: number,
  yData: FloatArray,
  yOffset: number,
  blocks: Blocks,
  center: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
): void {
  const { A, B, C, D } = blocks;
  const size = A * B * C * D;
  const x = fromOffset(xData, xOffset, size);
  const y = fromOffset(yData, yOffset, size);
  if (D > 1) {
    let p = 0;
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++, p += D) affineRun(x, y, p, D, center[base + c], scale[base + c], shift[base + c]);
      }
    }
    return;
  }
  const B4 = B - (B & 3);
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const start = a * B * C;
    let b = 0;
    for (; b < B4; b += 4) {
      const o0 = start + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const m = center[base + c];
        const ca = scale[base + c];
        const cb = shift[base + c];
        y[o0 + c] = (x[o0 + c] - m) * ca + cb;
        y[o1 + c] = (x[o1 + c] - m) * ca + cb;
        y[o2 + c] = (x[o2 + c] - m) * ca + cb;
        y[o3 + c] = (x[o3 + c] - m) * ca + cb;
      }
    }
    for (; b < B; b++) {
      const o = start + b * C;
      for (let c = 0; c < C; c++) y[o + c] = (x[o + c] - center[base + c]) * scale[base + c] + shift[base + c];
    }
  }
}

/**
 * The TypeScript implementation of `gradientSums`: per cell $`j`$, in float64,
 * $`\sum dy`$ and $`\sum dy\,(x - \mathrm{center}_j)`$ (one read of `x` and `dy`).
 *
 * @param call - see {@link GradientSumsCall}
 */
export function gradientSumsKernel(call: GradientSumsCall): void {
  const { x, dy, cells, center, sumDy, sumDyCentered } = call;
  sumDy.fill(0);
  sumDyCentered.fill(0);
  const blocks = cells.blocks;
  if (blocks !== null && isRowMajor(x.shape, x.strides) && isRowMajor(dy.shape, dy.strides)) {
    gradientSumsBlocks(x.data, x.offset, dy.data, dy.offset, blocks, center, sumDy, sumDyCentered);
    return;
  }
  const xData = x.data;
  const dyData = dy.data;
  walkRuns(x.shape, [x.strides, dy.strides, cells.cellIndex.strides], [x.offset, dy.offset, 0], (length, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let j = pointers[2];
    const xStep = steps[0];
    const dyStep = steps[1];
    const jStep = steps[2];
    if (jStep === 0) {
      const m = center[j];
      let s = 0;
      let t = 0;
      for (let i = 0; i < length; i++, p += xStep, q += dyStep) {
        const g = dyData[q];
        s += g;
        t += g * (xData[p] - m);
      }
      sumDy[j] += s;
      sumDyCentered[j] += t;
    } else {
      for (let i = 0; i < length; i++, p += xStep, q += dyStep, j += jStep) {
        const g = dyData[q];
        sumDy[j] += g;
        sumDyCentered[j] += g * (xData[p] - center[j]);
      }
    }
  });
}

function gradientSumsBlocks(
  xData: FloatArray,
  xOffset: number,
  dyData: FloatArray,
  dyOffset: number,
  blocks: Blocks,
  center: Float64Array,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
): void {
  const { A, B, C, D } = blocks;
  const size = A * B * C * D;
  const x = fromOffset(xData, xOffset, size);
  const dy = fromOffset(dyData, dyOffset, size);
  if (D > 1) {
    let p = 0;
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++, p += D) {
          const j = base + c;
          runSums[0] = 0;
          runSums[1] = 0;
          gradientSumsRun(x, dy, p, D, center[j]);
          sumDy[j] += runSums[0];
          sumDyCentered[j] += runSums[1];
        }
      }
    }
    return;
  }
  const B4 = B - (B & 3);
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const start = a * B * C;
    let b = 0;
    for (; b < B4; b += 4) {
      const o0 = start + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const m = center[j];
        const g0 = dy[o0 + c], g1 = dy[o1 + c], g2 = dy[o2 + c], g3 = dy[o3 + c];
        sumDy[j] += g0 + g1 + (g2 + g3);
        sumDyCentered[j] += g0 * (x[o0 + c] - m) + g1 * (x[o1 + c] - m) + (g2 * (x[o2 + c] - m) + g3 * (x[o3 + c] - m));
      }
    }
    for (; b < B; b++) {
      const o = start + b * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const g = dy[o + c];
        sumDy[j] += g;
        sumDyCentered[j] += g * (x[o + c] - center[j]);
      }
    }
  }
}

/**
 * The TypeScript implementation of `inputGradient`:
 * $`dx = a_j\,dy + b_j\,(x - \mathrm{center}_j) + k_j`$ per cell $`j`$.
 *
 * @param call - see {@link InputGradientCall}
 */
export function inputGradientKernel(call: InputGradientCall): void {
  const { x, dy, dx, cells, center, a: ca, b: cb, k: ck } = call;
  const blocks = cells.blocks;
  if (blocks !== null && isRowMajor(x.shape, x.strides) && isRowMajor(dy.shape, dy.strides) && isRowMajor(dx.shape, dx.strides)) {
    inputGradientBlocks(x.data, x.offset, dy.data, dy.offset, dx.data, dx.offset, blocks, center, ca, cb, ck);
    return;
  }
  const xData = x.data;
  const dyData = dy.data;
  const dxData = dx.data;
  walkRuns(
    x.shape,
    [x.strides, dy.strides, dx.strides, cells.cellIndex.strides],
    [x.offset, dy.offset, dx.offset, 0],
    (length, pointers, steps) => {
      let p = pointers[0];
      let q = pointers[1];
      let r = pointers[2];
      let j = pointers[3];
      const xStep = steps[0];
      const dyStep = steps[1];
      const dxStep = steps[2];
      const jStep = steps[3];
      if (jStep === 0) {
        const m = center[j];
        const a = ca[j];
        const b = cb[j];
        const k = ck[j];
        for (let i = 0; i < length; i++, p += xStep, q += dyStep, r += dxStep) dxData[r] = a * dyData[q] + b * (xData[p] - m) + k;
      } else {
        for (let i = 0; i < length; i++, p += xStep, q += dyStep, r += dxStep, j += jStep) {
          dxData[r] = ca[j] * dyData[q] + cb[j] * (xData[p] - center[j]) + ck[j];
        }
      }
    },
  );
}

function inputGradientBlocks(
  xData: FloatArray,
  xOffset: number,
  dyData: FloatArray,
  dyOffset: number,
  dxData: FloatArray,
  dxOffset: number,
  blocks: Blocks,
  center: Float64Array,
  ca: Float64Array,
  cb: Float64Array,
  ck: Float64Array,
): void {
  const { A, B, C, D } = blocks;
  const size = A * B * C * D;
  const x = fromOffset(xData, xOffset, size);
  const dy = fromOffset(dyData, dyOffset, size);
  const dx = fromOffset(dxData, dxOffset, size);
  if (D > 1) {
    let p = 0;
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++, p += D) inputGradientRun(x, dy, dx, p, D, center[base + c], ca[base + c], cb[base + c], ck[base + c]);
      }
    }
    return;
  }
  const B4 = B - (B & 3);
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const start = a * B * C;
    let b = 0;
    for (; b < B4; b += 4) {
      const o0 = start + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const m = center[j];
        const cA = ca[j];
        const cB = cb[j];
        const cK = ck[j];
        dx[o0 + c] = cA * dy[o0 + c] + cB * (x[o0 + c] - m) + cK;
        dx[o1 + c] = cA * dy[o1 + c] + cB * (x[o1 + c] - m) + cK;
        dx[o2 + c] = cA * dy[o2 + c] + cB * (x[o2 + c] - m) + cK;
        dx[o3 + c] = cA * dy[o3 + c] + cB * (x[o3 + c] - m) + cK;
      }
    }
    for (; b < B; b++) {
      const o = start + b * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        dx[o + c] = ca[j] * dy[o + c] + cb[j] * (x[o + c] - center[j]) + ck[j];
      }
    }
  }
}
