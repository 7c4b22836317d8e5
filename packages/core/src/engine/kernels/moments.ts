import type { FloatArray } from '../../tensor.js';
import { isRowMajor } from '../../tensor.js';
import type { MomentsCall } from '../calls.js';
import type { Blocks } from '../plan.js';
import { walkRuns } from '../walk.js';
import { fromOffset, runSums, shiftedSumsRun, squaresRun } from './runs.js';

/**
 * How far a group's shift may sit from its mean, in standard deviations squared, before the
 * one-pass result is replaced by an exact two-pass one. Below it, the shifted sums lose at
 * most a factor `1 + CONDITION_LIMIT` of relative precision in the variance (a few units in
 * the 13th digit in float64).
 */
export const CONDITION_LIMIT = 64;

/**
 * The TypeScript implementation of the `moments` kernel (the reference every backend must
 * match).
 *
 * Row-major inputs take one pass over memory, in address order: each group's values are
 * summed as deviations from a shift $`K_g`$, its first value, in float64,
 * $`S_g = \sum (x - K_g)`$ and $`Q_g = \sum (x - K_g)^2`$, so
 *
 * $$\mu_g = K_g + S_g/m,\qquad \sigma_g^2 = Q_g/m - (S_g/m)^2 .$$
 *
 * The subtraction cancels only when the shift is far from the mean relative to the spread;
 * when $`(S_g/m)^2 > 64\,\sigma_g^2`$ for some group, the exact two-pass algorithm recomputes
 * the statistics. Every other view, and that fallback, uses the two-pass algorithm
 * $`\mu = \tfrac1m\sum x`$, $`\sigma^2 = \tfrac1m\big(\sum (x-\mu)^2 - \tfrac1m(\sum (x - \mu))^2\big)`$
 * walked in memory order. Uncentered moments are $`\tfrac1m \sum x^2`$ in one pass.
 *
 * @param call - the input, plan and outputs (see {@link MomentsCall})
 */
export function momentsKernel(call: MomentsCall): void {
  const { x, plan, centered, mean, variance } = call;
  const groups = plan.groups;
  const count = plan.count;
  if (groups === 0 || count === 0) {
    mean.fill(0);
    variance.fill(0);
    return;
  }
  const blocks = plan.statsBlocks;
  const contiguous = blocks !== null && isRowMajor(x.shape, x.strides);
  if (!centered) {
    if (contiguous) squaresBlocks(x.data, x.offset, blocks, variance);
    else squaresStrided(call);
    mean.fill(0);
    for (let g = 0; g < groups; g++) variance[g] /= count;
    return;
  }
  if (contiguous && shiftedBlocks(x.data, x.offset, blocks, mean, variance, count)) return;
  twoPassStrided(call);
}

/**
 * One shifted pass over `(A, B, C, D)`: writes mean and variance per group and returns `true`,
 * or `false` when some group is too ill-conditioned for the shifted formula.
 */
function shiftedBlocks(data: FloatArray, offset: number, blocks: Blocks, mean: Float64Array, variance: Float64Array, count: number): boolean {
  const { A, B, C, D } = blocks;
  const x = fromOffset(data, offset, A * B * C * D);
  const groups = A * C;
  const shift = new Float64Array(groups);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) shift[a * C + c] = x[a * B * C * D + c * D];
  }
  mean.fill(0);
  variance.fill(0);
  if (D > 1) shiftedPlanes(x, A, B, C, D, shift, mean, variance);
  else shiftedColumns(x, A, B, C, shift, mean, variance);
  for (let g = 0; g < groups; g++) {
    const meanShift = mean[g] / count;
    const spread = variance[g] / count - meanShift * meanShift;
    if (meanShift * meanShift > CONDITION_LIMIT * spread) return false;
    mean[g] = shift[g] + meanShift;
    variance[g] = spread < 0 ? 0 : spread; // NaN stays NaN
  }
  return true;
}

/** Planes: runs of `D` values of one group; Σ(x − K) into `sums`, Σ(x − K)² into `squares`. */
function shiftedPlanes(x: FloatArray, A: number, B: number, C: number, D: number, shift: Float64Array, sums: Float64Array, squares: Float64Array): void {
  let p = 0;
  for (let a = 0; a < A; a++) {
    const base = a * C;
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++, p += D) {
        const g = base + c;
        runSums[0] = 0;
        runSums[1] = 0;
        shiftedSumsRun(x, p, D, shift[g]);
        sums[g] += runSums[0];
        squares[g] += runSums[1];
      }
    }
  }
}

/** Columns: the group index is innermost; four rows at a time share each accumulator update. */
function shiftedColumns(x: FloatArray, A: number, B: number, C: number, shift: Float64Array, sums: Float64Array, squares: Float64Array): void {
  const B4 = B - (B & 3);
  for (let a = 0; a < A; a++) {
    const base = a * C;
    const start = a * B * C;
    let b = 0;
    for (; b < B4; b += 4) {
      const o0 = start + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      for (let c = 0; c < C; c++) {
        const g = base + c;
        const k = shift[g];
        const d0 = x[o0 + c] - k, d1 = x[o1 + c] - k, d2 = x[o2 + c] - k, d3 = x[o3 + c] - k;
        sums[g] += d0 + d1 + (d2 + d3);
        squares[g] += d0 * d0 + d1 * d1 + (d2 * d2 + d3 * d3);
      }
    }
    for (; b < B; b++) {
      const o = start + b * C;
      for (let c = 0; c < C; c++) {
        const g = base + c;
        const d = x[o + c] - shift[g];
        sums[g] += d;
        squares[g] += d * d;
      }
    }
  }
}

/** Σ x² per group over `(A, B, C, D)`, into `squares`. */
function squaresBlocks(data: FloatArray, offset: number, blocks: Blocks, squares: Float64Array): void {
  const { A, B, C, D } = blocks;
  const x = fromOffset(data, offset, A * B * C * D);
  squares.fill(0);
  let p = 0;
  if (D > 1) {
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++, p += D) squares[base + c] += squaresRun(x, p, D);
      }
    }
    return;
  }
  for (let a = 0; a < A; a++) {
    const base = a * C;
    for (let b = 0; b < B; b++, p += C) {
      for (let c = 0; c < C; c++) {
        const v = x[p + c];
        squares[base + c] += v * v;
      }
    }
  }
}

/** Σ x² per group, any strides, into `call.variance`. */
function squaresStrided(call: MomentsCall): void {
  const { x, plan, variance: squares } = call;
  const data = x.data;
  squares.fill(0);
  walkRuns(x.shape, [x.strides, plan.groupIndex.strides], [x.offset, 0], (length, pointers, steps) => {
    let p = pointers[0];
    let g = pointers[1];
    const xStep = steps[0];
    const gStep = steps[1];
    if (gStep === 0) {
      let q = 0;
      for (let i = 0; i < length; i++, p += xStep) q += data[p] * data[p];
      squares[g] += q;
    } else {
      for (let i = 0; i < length; i++, p += xStep, g += gStep) squares[g] += data[p] * data[p];
    }
  });
}

/** The exact two-pass moments, any strides (the reference, and the ill-conditioned fallback). */
function twoPassStrided(call: MomentsCall): void {
  const { x, plan, mean, variance } = call;
  const data = x.data;
  const groups = plan.groups;
  const count = plan.count;
  const drift = variance; // Σ(x − mean) in pass 2
  const squares = new Float64Array(groups);
  const operandStrides = [x.strides, plan.groupIndex.strides];
  const offsets = [x.offset, 0];
  mean.fill(0);
  walkRuns(x.shape, operandStrides, offsets, (length, pointers, steps) => {
    let p = pointers[0];
    let g = pointers[1];
    const xStep = steps[0];
    const gStep = steps[1];
    if (gStep === 0) {
      let sum = 0;
      for (let i = 0; i < length; i++, p += xStep) sum += data[p];
      mean[g] += sum;
    } else {
      for (let i = 0; i < length; i++, p += xStep, g += gStep) mean[g] += data[p];
    }
  });
  for (let g = 0; g < groups; g++) mean[g] /= count;
  drift.fill(0);
  walkRuns(x.shape, operandStrides, offsets, (length, pointers, steps) => {
    let p = pointers[0];
    let g = pointers[1];
    const xStep = steps[0];
    const gStep = steps[1];
    if (gStep === 0) {
      const m = mean[g];
      let sumD = 0;
      let sumD2 = 0;
      for (let i = 0; i < length; i++, p += xStep) {
        const d = data[p] - m;
        sumD += d;
        sumD2 += d * d;
      }
      drift[g] += sumD;
      squares[g] += sumD2;
    } else {
      for (let i = 0; i < length; i++, p += xStep, g += gStep) {
        const d = data[p] - mean[g];
        drift[g] += d;
        squares[g] += d * d;
      }
    }
  });
  for (let g = 0; g < groups; g++) {
    const d = drift[g];
    const m2 = squares[g] - (d * d) / count;
    variance[g] = m2 < 0 ? 0 : m2 / count; // NaN stays NaN
  }
}
