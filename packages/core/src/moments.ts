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
 *
 * $$\bar x = \tfrac1n \textstyle\sum_i x_i,\qquad m_2 = \textstyle\sum_i (x_i - \bar x)^2 - \tfrac1n \big(\sum_i (x_i - \bar x)\big)^2$$
 *
 * (the second term corrects the rounding of the mean; $`m_2`$ is clamped at 0).
 *
 * @param values - any array-like of numbers
 * @returns `{ count, mean, m2 }`; {@link EMPTY_MOMENTS} for no values
 */
export function momentsOf(values: ArrayLike<number>): Moments {
  const n = values.length;
  if (n === 0) return EMPTY_MOMENTS;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let squares = 0;
  let drift = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    drift += d;
    squares += d * d;
  }
  return { count: n, mean, m2: Math.max(0, squares - (drift * drift) / n) };
}

/**
 * Merges the moments of two disjoint sets of values into the moments of their union
 * (Chan, Golub & LeVeque):
 *
 * $$n = n_A + n_B,\quad \delta = \bar x_B - \bar x_A,\quad \bar x = \bar x_A + \delta\,\frac{n_B}{n},\quad m_2 = m_{2,A} + m_{2,B} + \delta^2\,\frac{n_A n_B}{n}$$
 *
 * It is exact in real arithmetic for any counts, so statistics computed on parts
 * (batches, workers, ghost batches) combine to the statistics of the whole.
 *
 * @param a - the moments of one part
 * @param b - the moments of the other part
 * @returns the moments of both parts together (`a` or `b` itself when the other is empty)
 * @example
 * ```ts
 * const whole = mergeMoments(momentsOf([1, 2]), momentsOf([3, 4, 5]));
 * varianceOf(whole); // 2, the biased variance of 1..5
 * ```
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
 * The variance of a {@link Moments}: $`\sigma^2 = m_2 / (n - c)`$ with $`c`$ the correction.
 *
 * @param m - the moments
 * @param correction - 0 for the biased (population) variance, 1 for the unbiased one (Bessel)
 * @returns the variance
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
