/**
 * Means and 95% confidence intervals over seeds, with Student's t distribution: for n values
 * with mean m and sample standard deviation s (divided by n − 1), the interval is
 *
 * ```
 * m ± t(0.975; n − 1) · s / √n
 * ```
 *
 * It assumes the per-seed results are independent draws of a roughly normal quantity; with 5
 * seeds, t(0.975; 4) = 2.776, so the half-width is 1.24 standard deviations.
 */

/**
 * Two-sided 95% quantiles t(0.975; df) of Student's t distribution for df = 1…30
 * (standard table values, 6 significant digits).
 */
const T975 = [
  12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.306, 2.26216, 2.22814, 2.20099, 2.17881, 2.16037, 2.14479, 2.13145, 2.11991, 2.10982, 2.10092, 2.09302,
  2.08596, 2.07961, 2.07387, 2.06866, 2.0639, 2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227,
];

/**
 * t(0.975; df): the table for df ≤ 30, beyond it the Cornish–Fisher expansion around the
 * normal quantile 1.959964 (three terms; error below 1e-5 for df > 30).
 *
 * @param df - degrees of freedom, an integer ≥ 1
 */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tQuantile975: expected an integer df ≥ 1, got ${df}`);
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/** Mean and 95% interval of a set of per-seed values. */
export interface Interval {
  /** How many values (seeds). */
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  readonly sd: number;
  /** Half-width t(0.975; n − 1)·sd/√n; null for one value (no interval). */
  readonly half: number | null;
  readonly min: number;
  readonly max: number;
}

/**
 * The mean and t-interval of `values` (non-finite values are an error: filter first).
 *
 * @param values - at least one finite number
 */
export function interval(values: readonly number[]): Interval {
  if (values.length === 0 || !values.every(Number.isFinite)) throw new Error(`interval: expected finite values, got [${values.join(', ')}]`);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, sd, half: n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : null, min: Math.min(...values), max: Math.max(...values) };
}

/** Do two intervals overlap? (Disjoint intervals are what the guide calls a difference.) */
export function overlaps(a: Interval, b: Interval): boolean {
  const lo = (i: Interval) => i.mean - (i.half ?? 0);
  const hi = (i: Interval) => i.mean + (i.half ?? 0);
  return lo(a) <= hi(b) && lo(b) <= hi(a);
}
