import type { FloatArray } from '../../tensor.js';
import { isRowMajor } from '../../tensor.js';
import type { MomentsCall } from '../calls.js';
import type { Blocks } from '../plan.js';
import { walkRuns } from '../walk.js';

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
  const sums = mean;
  const squares = variance;
  const shift = new Float64Array(A * C);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) shift[a * C + c] = data[offset + a * B * C * D + c * D];
  }
  sums.fill(0);
  squares.fill(0);
  if (D > 1) {
    let p = offset;
    const D4 = D - (D % 4);
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          const g = base + c;
          const k = shift[g];
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
          const end4 = p + D4;
          const end = p + D;
          for (; p < end4; p += 4) {
            const d0 = data[p] - k, d1 = data[p + 1] - k, d2 = data[p + 2] - k, d3 = data[p + 3] - k;
            s0 += d0; s1 += d1; s2 += d2; s3 += d3;
            q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3;
          }
          for (; p < end; p++) {
            const d = data[p] - k;
            s0 += d;
            q0 += d * d;
          }
          sums[g] += s0 + s1 + (s2 + s3);
          squares[g] += q0 + q1 + (q2 + q3);
        }
      }
    }
  } else {
    // Columns: the group index is innermost; four rows at a time share each accumulator update.
    for (let a = 0; a < A; a++) {
      const base = a * C;
      const rowsStart = offset + a * B * C;
      let b = 0;
      for (; b + 4 <= B; b += 4) {
        const o0 = rowsStart + b * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
        for (let c = 0; c < C; c++) {
          const g = base + c;
          const k = shift[g];
          const d0 = data[o0 + c] - k, d1 = data[o1 + c] - k, d2 = data[o2 + c] - k, d3 = data[o3 + c] - k;
          sums[g] += d0 + d1 + (d2 + d3);
          squares[g] += d0 * d0 + d1 * d1 + (d2 * d2 + d3 * d3);
        }
      }
      for (; b < B; b++) {
        const o = rowsStart + b * C;
        for (let c = 0; c < C; c++) {
          const g = base + c;
          const d = data[o + c] - shift[g];
          sums[g] += d;
          squares[g] += d * d;
        }
      }
    }
  }
  const groups = A * C;
  for (let g = 0; g < groups; g++) {
    const meanShift = sums[g] / count;
    const spread = squares[g] / count - meanShift * meanShift;
    if (meanShift * meanShift > CONDITION_LIMIT * spread) return false;
    mean[g] = shift[g] + meanShift;
    variance[g] = spread < 0 ? 0 : spread; // NaN stays NaN
  }
  return true;
}

/** Σ x² per group over `(A, B, C, D)`, into `squares`. */
function squaresBlocks(data: FloatArray, offset: number, blocks: Blocks, squares: Float64Array): void {
  const { A, B, C, D } = blocks;
  squares.fill(0);
  if (D > 1) {
    let p = offset;
    const D4 = D - (D % 4);
    for (let a = 0; a < A; a++) {
      const base = a * C;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
          const end4 = p + D4;
          const end = p + D;
          for (; p < end4; p += 4) {
            const v0 = data[p], v1 = data[p + 1], v2 = data[p + 2], v3 = data[p + 3];
            q0 += v0 * v0; q1 += v1 * v1; q2 += v2 * v2; q3 += v3 * v3;
          }
          for (; p < end; p++) q0 += data[p] * data[p];
          squares[base + c] += q0 + q1 + (q2 + q3);
        }
      }
    }
    return;
  }
  for (let a = 0; a < A; a++) {
    const base = a * C;
    for (let b = 0, o = offset + a * B * C; b < B; b++, o += C) {
      for (let c = 0; c < C; c++) {
        const v = data[o + c];
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
