import { NormkitError } from './errors.js';

/**
 * Sufficient statistics of a set of values: the count, the mean and the sum of
 * squared deviations from the mean, `m2 = Σ (x − mean)²`.
 *
 * The biased variance is `m2 / count`, the unbiased one `m2 / (count − 1)`.
 * Two `Moments` of disjoint parts merge exactly into the moments of the whole
 * ({@link mergeMoments}).
 */
export interface Moments {
  /** Number of values. */
  readonly count: number;
  /** Their mean (0 when count is 0). */
  readonly mean: number;
  /** Σ (x − mean)² (0 when count is 0). */
  readonly m2: number;
}

/** The moments of no values. */
export const EMPTY_MOMENTS: Moments = Object.freeze({ count: 0, mean: 0, m2: 0 });

/**
 * The moments of a list of values, two-pass in float64:
 * `mean = Σx / n`, then `m2 = Σ(x − mean)² − (Σ(x − mean))² / n` (the second term
 * corrects the rounding of `mean`).
 *
 * @param values - any array-like of numbers (a typed array, or a strided read via {@link momentsOfStrided})
 */
export function momentsOf(values: ArrayLike<number>): Moments {
  return momentsOfStrided(values, values.length, 1, 0);
}

/**
 * The moments of `n` values read from `data` at `offset + i·stride` (a BLAS-style strided read).
 */
export function momentsOfStrided(data: ArrayLike<number>, n: number, stride: number, offset: number): Moments {
  if (n === 0) return EMPTY_MOMENTS;
  let sum = 0;
  for (let i = 0, p = offset; i < n; i++, p += stride) sum += data[p];
  const mean = sum / n;
  let squares = 0;
  let drift = 0;
  for (let i = 0, p = offset; i < n; i++, p += stride) {
    const d = data[p] - mean;
    drift += d;
    squares += d * d;
  }
  return { count: n, mean, m2: Math.max(0, squares - (drift * drift) / n) };
}

/**
 * Merges the moments of two disjoint sets of values into the moments of their union
 * (Chan, Golub & LeVeque):
 *
 * `n = nA + nB`, `δ = meanB − meanA`, `mean = meanA + δ·nB/n`, `m2 = m2A + m2B + δ²·nA·nB/n`.
 *
 * It is exact in real arithmetic for any counts, so statistics computed on parts
 * (batches, workers, ghost batches) combine to the statistics of the whole.
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  const mean = a.mean + (delta * b.count) / count;
  const m2 = a.m2 + b.m2 + ((delta * delta * a.count) * b.count) / count;
  return { count, mean, m2 };
}

/**
 * The variance of a {@link Moments}: `m2 / (count − correction)`.
 *
 * @param m - the moments
 * @param correction - 0 for the biased (population) variance, 1 for the unbiased one (Bessel)
 * @throws NormkitError `E_DEGENERATE` when `count − correction ≤ 0`
 */
export function varianceOf(m: Moments, correction: 0 | 1 = 0): number {
  const denominator = m.count - correction;
  if (denominator <= 0) {
    throw new NormkitError(
      'E_DEGENERATE',
      `moments: a variance with correction ${correction} needs more than ${correction} value(s), got ${m.count}`,
      'moments',
    );
  }
  return m.m2 / denominator;
}
