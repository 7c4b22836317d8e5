import type { FloatArray } from '../../tensor.js';
import { isRowMajor } from '../../tensor.js';
import type { GradientSumsCall, InputGradientCall, NormalizeCellsCall } from '../calls.js';
import type { Blocks } from '../plan.js';
import { walkRuns } from '../walk.js';

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
  x: FloatArray,
  xOffset: number,
  y: FloatArray,
  yOffset: number,
  blocks: Blocks,
  center: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
): void {
  const { A, B, C, D } = blocks;
  if (D > 1) {
    let p = xOffset;
    let q = yOffset;
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          const j = base + c;
          const m = center[j];
          const s = scale[j];
          const t = shift[j];
          const end = p + D;
          for (; p < end; p++, q++) y[q] = (x[p] - m) * s + t;
        }
      }
    }
    return;
  }
  const delta = yOffset - xOffset;
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const rowsStart = xOffset + a * B * C;
    let b = 0;
    for (; b + 4 <= B; b += 4) {
      const o0 = rowsStart + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const m = center[j];
        const s = scale[j];
        const t = shift[j];
        y[o0 + c + delta] = (x[o0 + c] - m) * s + t;
        y[o1 + c + delta] = (x[o1 + c] - m) * s + t;
        y[o2 + c + delta] = (x[o2 + c] - m) * s + t;
        y[o3 + c + delta] = (x[o3 + c] - m) * s + t;
      }
    }
    for (; b < B; b++) {
      const o = rowsStart + b * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        y[o + c + delta] = (x[o + c] - center[j]) * scale[j] + shift[j];
      }
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
  x: FloatArray,
  xOffset: number,
  dy: FloatArray,
  dyOffset: number,
  blocks: Blocks,
  center: Float64Array,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
): void {
  const { A, B, C, D } = blocks;
  if (D > 1) {
    let p = xOffset;
    let q = dyOffset;
    const D4 = D - (D % 4);
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          const j = base + c;
          const m = center[j];
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
          const end4 = p + D4;
          const end = p + D;
          for (; p < end4; p += 4, q += 4) {
            const g0 = dy[q], g1 = dy[q + 1], g2 = dy[q + 2], g3 = dy[q + 3];
            s0 += g0; s1 += g1; s2 += g2; s3 += g3;
            t0 += g0 * (x[p] - m); t1 += g1 * (x[p + 1] - m); t2 += g2 * (x[p + 2] - m); t3 += g3 * (x[p + 3] - m);
          }
          for (; p < end; p++, q++) {
            const g = dy[q];
            s0 += g;
            t0 += g * (x[p] - m);
          }
          sumDy[j] += s0 + s1 + (s2 + s3);
          sumDyCentered[j] += t0 + t1 + (t2 + t3);
        }
      }
    }
    return;
  }
  const delta = dyOffset - xOffset;
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const rowsStart = xOffset + a * B * C;
    let b = 0;
    for (; b + 4 <= B; b += 4) {
      const o0 = rowsStart + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const m = center[j];
        const g0 = dy[o0 + c + delta], g1 = dy[o1 + c + delta], g2 = dy[o2 + c + delta], g3 = dy[o3 + c + delta];
        sumDy[j] += g0 + g1 + (g2 + g3);
        sumDyCentered[j] += g0 * (x[o0 + c] - m) + g1 * (x[o1 + c] - m) + (g2 * (x[o2 + c] - m) + g3 * (x[o3 + c] - m));
      }
    }
    for (; b < B; b++) {
      const o = rowsStart + b * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const g = dy[o + c + delta];
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
  x: FloatArray,
  xOffset: number,
  dy: FloatArray,
  dyOffset: number,
  dx: FloatArray,
  dxOffset: number,
  blocks: Blocks,
  center: Float64Array,
  ca: Float64Array,
  cb: Float64Array,
  ck: Float64Array,
): void {
  const { A, B, C, D } = blocks;
  if (D > 1) {
    let p = xOffset;
    let q = dyOffset;
    let r = dxOffset;
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          const j = base + c;
          const m = center[j];
          const cA = ca[j];
          const cB = cb[j];
          const cK = ck[j];
          const end = p + D;
          for (; p < end; p++, q++, r++) dx[r] = cA * dy[q] + cB * (x[p] - m) + cK;
        }
      }
    }
    return;
  }
  const dyDelta = dyOffset - xOffset;
  const dxDelta = dxOffset - xOffset;
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const rowsStart = xOffset + a * B * C;
    let b = 0;
    for (; b + 4 <= B; b += 4) {
      const o0 = rowsStart + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        const m = center[j];
        const cA = ca[j];
        const cB = cb[j];
        const cK = ck[j];
        dx[o0 + c + dxDelta] = cA * dy[o0 + c + dyDelta] + cB * (x[o0 + c] - m) + cK;
        dx[o1 + c + dxDelta] = cA * dy[o1 + c + dyDelta] + cB * (x[o1 + c] - m) + cK;
        dx[o2 + c + dxDelta] = cA * dy[o2 + c + dyDelta] + cB * (x[o2 + c] - m) + cK;
        dx[o3 + c + dxDelta] = cA * dy[o3 + c + dyDelta] + cB * (x[o3 + c] - m) + cK;
      }
    }
    for (; b < B; b++) {
      const o = rowsStart + b * C;
      for (let c = 0; c < C; c++) {
        const j = base + c;
        dx[o + c + dxDelta] = ca[j] * dy[o + c + dyDelta] + cb[j] * (x[o + c] - center[j]) + ck[j];
      }
    }
  }
}
