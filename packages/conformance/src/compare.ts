import type { GoldenArray } from './format.js';

/**
 * A tolerance: an element $`a`$ with expected value $`e`$ passes when
 * $`\lvert a - e \rvert \le \mathrm{rtol}\,\lvert e \rvert + \mathrm{atol}\cdot\max(1, \max_j \lvert e_j \rvert)`$.
 */
export interface Tolerance {
  /** Relative part. */
  readonly rtol: number;
  /** Absolute part, scaled by the array's largest magnitude (at least 1). */
  readonly atol: number;
}

/**
 * The tolerances of the vectors' README:
 * float64 rtol 1e-10 / atol 1e-12 (numerically hard cases 1e-7 / 1e-8);
 * float32 rtol 1e-4 / atol 1e-5 (hard cases are only checked for shape and finiteness,
 * since float32 cannot resolve their inputs to better than 0.1σ).
 *
 * @param dtype - the dtype the case was run in
 * @param hard - whether the case is marked `numericallyHard`
 * @returns the tolerance, or `null` where values are not compared (float32, hard)
 */
export function toleranceFor(dtype: 'float32' | 'float64', hard: boolean): Tolerance | null {
  if (dtype === 'float64') return hard ? { rtol: 1e-7, atol: 1e-8 } : { rtol: 1e-10, atol: 1e-12 };
  return hard ? null : { rtol: 1e-4, atol: 1e-5 };
}

/** The outcome of comparing one array. */
export interface ArrayComparison {
  /** Every element within tolerance (and the shapes equal). */
  readonly ok: boolean;
  /** max |a − e|. */
  readonly maxAbsErr: number;
  /**
   * max |a − e| / |e| over the elements with |e| ≥ 1e-3·max(1, max |e|): entries that
   * come out of cancellation (true value ≈ 0) are judged by the absolute term only.
   */
  readonly maxRelErr: number;
  /** Row-major index of the worst element relative to its allowance, or −1. */
  readonly worstIndex: number;
  /** Why it failed, when it did. */
  readonly message: string;
}

/**
 * Compares values in row-major order with an expected array.
 *
 * @param actual - the computed values, row-major
 * @param actualShape - their shape
 * @param expected - the golden array
 * @param tolerance - the tolerance; `null` checks only shape and finiteness
 * @returns the verdict with the largest absolute and relative errors; a shape mismatch or a
 *   non-finite value fails at once with infinite errors
 */
export function compareArray(
  actual: ArrayLike<number>,
  actualShape: readonly number[],
  expected: GoldenArray,
  tolerance: Tolerance | null,
): ArrayComparison {
  const shapeOk =
    actualShape.length === expected.shape.length && actualShape.every((d, k) => d === expected.shape[k]) && actual.length === expected.data.length;
  if (!shapeOk) {
    return {
      ok: false,
      maxAbsErr: Infinity,
      maxRelErr: Infinity,
      worstIndex: -1,
      message: `shape [${actualShape.join(', ')}] ≠ expected [${expected.shape.join(', ')}]`,
    };
  }
  let scale = 1;
  for (const v of expected.data) scale = Math.max(scale, Math.abs(v));
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let worstRatio = 0;
  let worstIndex = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected.data[i];
    if (!Number.isFinite(a)) {
      return { ok: false, maxAbsErr: Infinity, maxRelErr: Infinity, worstIndex: i, message: `non-finite value ${a} at flat index ${i}` };
    }
    const err = Math.abs(a - e);
    maxAbsErr = Math.max(maxAbsErr, err);
    if (Math.abs(e) >= 1e-3 * scale) maxRelErr = Math.max(maxRelErr, err / Math.abs(e));
    if (tolerance !== null) {
      const allowed = tolerance.rtol * Math.abs(e) + tolerance.atol * scale;
      const ratio = err / allowed;
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worstIndex = i;
      }
    }
  }
  const ok = worstRatio <= 1;
  return {
    ok,
    maxAbsErr,
    maxRelErr,
    worstIndex,
    message: ok
      ? ''
      : `flat index ${worstIndex}: got ${actual[worstIndex]}, expected ${expected.data[worstIndex]} (error ${worstRatio.toPrecision(3)}× the allowance)`,
  };
}
