import type { WorstEntry, WorstSource } from './report.js';

/**
 * Default relative tolerance: pass when |a − n| ≤ atol·scale + rtol·|n|.
 *
 * Why 1e-5: in float64 a central difference with h = ∛ε·max(1,|x|) is accurate to about
 * ε^(2/3) ≈ 4e-11 relative for smooth functions; even for a badly conditioned group
 * (variance near eps = 1e-5, where third derivatives grow like 1/σ³) the error stays near
 * h²/σ² ≲ 1e-6 of the largest entry. The smallest bug the tests plant (the unbiased
 * variance in backward, a factor m/(m − 1) on one term) is off by ≥ 1e-2 relative
 * for any m ≤ 100. 1e-5 sits between the two with a margin of 100× or more on each side.
 */
export const DEFAULT_RTOL = 1e-5;

/**
 * Default absolute tolerance, as a fraction of the scale of what is compared
 * (scale = max(1, largest |numeric| value of that comparison)): entries that are zero
 * analytically (e.g. across channels) come out of the finite difference as rounding
 * noise, about ε^(2/3)·scale, far below 1e-6·scale.
 */
export const DEFAULT_ATOL = 1e-6;

/** The tolerances of a comparison. */
export interface Tolerance {
  /** Relative tolerance on |numeric|. */
  readonly rtol: number;
  /** Absolute tolerance, multiplied by the comparison's scale. */
  readonly atol: number;
}

/**
 * The CS231n relative error |a − n| / max(|a|, |n|), with the denominator floored at
 * `floor` (so two values that are both zero up to rounding do not read as 100 % apart);
 * 0 when a = n.
 */
export function relativeError(analytic: number, numeric: number, floor = 0): number {
  const diff = Math.abs(analytic - numeric);
  if (diff === 0) return 0;
  const denominator = Math.max(Math.abs(analytic), Math.abs(numeric), floor);
  return denominator === 0 ? 0 : diff / denominator;
}

/** The scale of a set of numeric values: max(1, max |v|). */
export function scaleOf(values: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]);
    if (v > scale) scale = v;
  }
  return scale;
}

/**
 * Accumulates comparisons of analytic against numeric values for one tensor: counts,
 * the largest absolute and relative errors, and the worst few entries, ranked by how far
 * they exceed their tolerance, |a − n| / (atol·scale + rtol·|n|).
 */
export class ErrorTracker {
  /** How many values were compared. */
  compared = 0;
  /**
   * How many values were out of tolerance at the default step but agreed with a refined
   * finite-difference estimate (see {@link ErrorTracker.addRefined}); they count as passed.
   */
  refined = 0;
  /** How many were out of tolerance (or not finite). */
  failures = 0;
  /** max |a − n|. */
  maxAbsErr = 0;
  /** max relative error (see {@link relativeError}). */
  maxRelErr = 0;
  private readonly ranked: { entry: WorstEntry; ratio: number }[] = [];

  /**
   * @param tolerance - rtol and atol
   * @param keep - how many worst entries to keep
   */
  constructor(
    readonly tolerance: Tolerance,
    readonly keep: number,
  ) {}

  /**
   * Compares one value.
   *
   * @param analytic - from backward
   * @param numeric - from finite differences
   * @param scale - the comparison's scale (see {@link scaleOf})
   * @param source - which comparison it belongs to
   * @param index - multi-index into the differentiated tensor (or the projection number)
   * @param output - for a Jacobian entry, the multi-index into y
   * @returns whether it passed
   */
  add(analytic: number, numeric: number, scale: number, source: WorstSource, index: () => number[], output?: () => number[]): boolean {
    this.compared++;
    const finite = Number.isFinite(analytic) && Number.isFinite(numeric);
    const absErr = finite ? Math.abs(analytic - numeric) : Infinity;
    const relErr = finite ? relativeError(analytic, numeric, this.tolerance.atol * scale) : Infinity;
    const ratio = this.ratio(analytic, numeric, scale);
    if (absErr > this.maxAbsErr || Number.isNaN(absErr)) this.maxAbsErr = absErr;
    if (relErr > this.maxRelErr) this.maxRelErr = relErr;
    const ok = ratio <= 1;
    if (!ok) this.failures++;
    if (this.keep > 0 && (this.ranked.length < this.keep || ratio > this.ranked[this.ranked.length - 1].ratio)) {
      const entry: WorstEntry = { source, index: index(), analytic, numeric, absErr, relErr };
      if (output !== undefined) entry.output = output();
      this.ranked.push({ entry, ratio });
      this.ranked.sort((a, b) => b.ratio - a.ratio);
      if (this.ranked.length > this.keep) this.ranked.pop();
    }
    return ok;
  }

  /**
   * How far a value is past its tolerance: |a − n| / (atol·scale + rtol·|n|); ≤ 1 passes,
   * Infinity when either value is not finite.
   */
  ratio(analytic: number, numeric: number, scale: number): number {
    if (!(Number.isFinite(analytic) && Number.isFinite(numeric))) return Infinity;
    const bound = this.tolerance.atol * scale + this.tolerance.rtol * Math.abs(numeric);
    const absErr = Math.abs(analytic - numeric);
    return bound > 0 ? absErr / bound : absErr === 0 ? 0 : Infinity;
  }

  /**
   * Compares one value like {@link ErrorTracker.add}, but a failure must persist under
   * refinement of the finite difference to count. When the default-step estimate is out of
   * tolerance, the refined estimates (smaller steps, Richardson extrapolation) are tried in
   * turn; the first that agrees is recorded as a pass (and counted in
   * {@link ErrorTracker.refined}). When none agrees, the estimate closest to the analytic
   * value is recorded as the failure, so the reported error is the smallest any estimate
   * gives. Nothing is recorded when `refinements` throws.
   *
   * @param numeric - the estimate at the default step
   * @param refinements - the refined estimates, lazily (only drawn after a failure)
   * @returns whether it passed
   */
  addRefined(
    analytic: number,
    numeric: number,
    scale: number,
    refinements: () => Iterable<number>,
    source: WorstSource,
    index: () => number[],
    output?: () => number[],
  ): boolean {
    let best = numeric;
    let bestRatio = this.ratio(analytic, numeric, scale);
    if (bestRatio <= 1) return this.add(analytic, numeric, scale, source, index, output);
    for (const candidate of refinements()) {
      const r = this.ratio(analytic, candidate, scale);
      if (r < bestRatio) {
        best = candidate;
        bestRatio = r;
      }
      if (r <= 1) break;
    }
    const ok = this.add(analytic, best, scale, source, index, output);
    if (ok) this.refined++;
    return ok;
  }

  /** The worst entries, worst first. */
  worst(): WorstEntry[] {
    return this.ranked.map((r) => r.entry);
  }
}
