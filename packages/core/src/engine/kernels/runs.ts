import type { FloatArray } from '../../tensor.js';

/**
 * Leaf loops over one contiguous run of a cell, shared by the blocked kernels. Each is a
 * small function with its loop unrolled by four, so V8 optimizes it on its own (with one
 * feedback site per typed-array kind) whatever shape the calling kernel walks. Two-value
 * results go out through a module scratch array (kernels are synchronous and never nested).
 */

/** Scratch for the leaf loops' two-value results. */
export const runSums = new Float64Array(2);

/**
 * Shifted sums over `data[p .. p+len)`: `runSums[0] += Σ(x − k)`, `runSums[1] += Σ(x − k)²`.
 *
 * @param data - the buffer
 * @param p - the first index
 * @param len - the run length
 * @param k - the shift
 */
export function shiftedSumsRun(data: FloatArray, p: number, len: number, k: number): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
  const end4 = p + (len - (len & 3));
  const end = p + len;
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
  runSums[0] += s0 + s1 + (s2 + s3);
  runSums[1] += q0 + q1 + (q2 + q3);
}

/**
 * Sum of squares over `data[p .. p+len)`.
 *
 * @param data - the buffer
 * @param p - the first index
 * @param len - the run length
 * @returns Σ x²
 */
export function squaresRun(data: FloatArray, p: number, len: number): number {
  let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
  const end4 = p + (len - (len & 3));
  const end = p + len;
  for (; p < end4; p += 4) {
    const v0 = data[p], v1 = data[p + 1], v2 = data[p + 2], v3 = data[p + 3];
    q0 += v0 * v0; q1 += v1 * v1; q2 += v2 * v2; q3 += v3 * v3;
  }
  for (; p < end; p++) q0 += data[p] * data[p];
  return q0 + q1 + (q2 + q3);
}

/**
 * The affine map over one run, `y[i] = (x[i] − m)·a + b` for `i` in `[p, p+len)` (the same
 * index in both buffers). The center is subtracted first, not folded into `b`, so a large
 * mean does not cancel against a large product.
 *
 * @param x - input buffer
 * @param y - output buffer
 * @param p - the first index
 * @param len - the run length
 * @param m - the center
 * @param a - the multiplier
 * @param b - the constant
 */
export function affineRun(x: FloatArray, y: FloatArray, p: number, len: number, m: number, a: number, b: number): void {
  const end4 = p + (len - (len & 3));
  const end = p + len;
  for (; p < end4; p += 4) {
    y[p] = (x[p] - m) * a + b;
    y[p + 1] = (x[p + 1] - m) * a + b;
    y[p + 2] = (x[p + 2] - m) * a + b;
    y[p + 3] = (x[p + 3] - m) * a + b;
  }
  for (; p < end; p++) y[p] = (x[p] - m) * a + b;
}

/**
 * Gradient sums over one run: `runSums[0] += Σ dy`, `runSums[1] += Σ dy·(x − m)`.
 *
 * @param x - input buffer
 * @param dy - upstream gradient buffer (same index)
 * @param p - the first index
 * @param len - the run length
 * @param m - the center
 */
export function gradientSumsRun(x: FloatArray, dy: FloatArray, p: number, len: number, m: number): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  const end4 = p + (len - (len & 3));
  const end = p + len;
  for (; p < end4; p += 4) {
    const g0 = dy[p], g1 = dy[p + 1], g2 = dy[p + 2], g3 = dy[p + 3];
    s0 += g0; s1 += g1; s2 += g2; s3 += g3;
    t0 += g0 * (x[p] - m); t1 += g1 * (x[p + 1] - m); t2 += g2 * (x[p + 2] - m); t3 += g3 * (x[p + 3] - m);
  }
  for (; p < end; p++) {
    const g = dy[p];
    s0 += g;
    t0 += g * (x[p] - m);
  }
  runSums[0] += s0 + s1 + (s2 + s3);
  runSums[1] += t0 + t1 + (t2 + t3);
}

/**
 * The input gradient over one run, `dx[i] = a·dy[i] + b·(x[i] − m) + k` (the same index in
 * all three buffers).
 *
 * @param x - input buffer
 * @param dy - upstream gradient buffer
 * @param dx - output buffer
 * @param p - the first index
 * @param len - the run length
 * @param m - the center
 * @param a - coefficient of dy
 * @param b - coefficient of x − m
 * @param k - constant
 */
export function inputGradientRun(x: FloatArray, dy: FloatArray, dx: FloatArray, p: number, len: number, m: number, a: number, b: number, k: number): void {
  const end4 = p + (len - (len & 3));
  const end = p + len;
  for (; p < end4; p += 4) {
    dx[p] = a * dy[p] + b * (x[p] - m) + k;
    dx[p + 1] = a * dy[p + 1] + b * (x[p + 1] - m) + k;
    dx[p + 2] = a * dy[p + 2] + b * (x[p + 2] - m) + k;
    dx[p + 3] = a * dy[p + 3] + b * (x[p + 3] - m) + k;
  }
  for (; p < end; p++) dx[p] = a * dy[p] + b * (x[p] - m) + k;
}

/**
 * The buffer of a row-major operand seen from its offset, so that every operand of a blocked
 * kernel is addressed with the same index (a view, not a copy; the buffer itself when the
 * offset is 0).
 *
 * @param data - the buffer
 * @param offset - the operand's offset
 * @param size - its number of elements
 * @returns `data` or `data.subarray(offset, offset + size)`
 */
export function fromOffset(data: FloatArray, offset: number, size: number): FloatArray {
  return offset === 0 ? data : data.subarray(offset, offset + size);
}
