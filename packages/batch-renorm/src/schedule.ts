import { NormkitError, describeValue } from '@normkit/core';

/**
 * The ramp of the correction limits in Ioffe (2017), §4 ("Batch Renormalization", arXiv
 * 1702.03275v2): "rmax = 1, dmax = 0 (i.e. simply batchnorm) for the first 5000 training
 * steps, after which these were gradually relaxed to reach rmax = 3 at 40k steps, and
 * dmax = 5 at 25k steps". The paper does not give the shape of the ramp;
 * {@link batchRenormSchedule} relaxes linearly.
 */
export const PAPER_RENORM_SCHEDULE: Readonly<Required<BatchRenormScheduleOptions>> = Object.freeze({
  warmupSteps: 5000,
  rmax: 3,
  rmaxSteps: 40000,
  dmax: 5,
  dmaxSteps: 25000,
});

/** The knobs of {@link batchRenormSchedule}; every one defaults to {@link PAPER_RENORM_SCHEDULE}'s value. */
export interface BatchRenormScheduleOptions {
  /** Steps with `rmax = 1`, `dmax = 0` (plain batch norm) before the limits relax. Default 5000. */
  readonly warmupSteps?: number;
  /** The final `rmax` (≥ 1). Default 3. */
  readonly rmax?: number;
  /** The step at which `rmax` reaches its final value (> `warmupSteps`). Default 40000. */
  readonly rmaxSteps?: number;
  /** The final `dmax` (≥ 0). Default 5. */
  readonly dmax?: number;
  /** The step at which `dmax` reaches its final value (> `warmupSteps`). Default 25000. */
  readonly dmaxSteps?: number;
}

/** The correction limits as functions of the training step, for batch renorm's `rmax` and `dmax` options. */
export interface BatchRenormSchedule {
  /**
   * $`r_{\max}`$ at a step.
   *
   * @param step - the number of training steps already taken (batch renorm passes `numBatchesTracked`)
   * @returns the limit, ≥ 1
   */
  readonly rmax: (step: number) => number;
  /**
   * $`d_{\max}`$ at a step.
   *
   * @param step - the number of training steps already taken
   * @returns the limit, ≥ 0
   */
  readonly dmax: (step: number) => number;
}

function option(input: BatchRenormScheduleOptions, key: keyof BatchRenormScheduleOptions, ok: (v: number) => boolean, expected: string): number {
  const value = input[key] ?? PAPER_RENORM_SCHEDULE[key];
  if (typeof value !== 'number' || !ok(value)) {
    throw new NormkitError('E_OPTION', `batchRenormSchedule options.${key}: expected ${expected}, got ${describeValue(value)}`, `options.${key}`);
  }
  return value;
}

/** From `start` at `from` to `end` at `to`, linearly; constant outside. */
function ramp(step: number, from: number, to: number, start: number, end: number): number {
  if (step <= from) return start;
  if (step >= to) return end;
  return start + ((end - start) * (step - from)) / (to - from);
}

/**
 * The paper's schedule of the correction limits (see {@link PAPER_RENORM_SCHEDULE}): plain
 * batch norm (`rmax = 1`, `dmax = 0`) for `warmupSteps` steps, then each limit grows
 * **linearly** to its final value, reached at `rmaxSteps` and `dmaxSteps`, and stays there.
 * Spread it into batch renorm's options; the step is the layer's `numBatchesTracked`.
 *
 * $$r_{\max}(t) = 1 + (r_{\max}^{\text{end}} - 1)\,\operatorname{clip}\Big(\frac{t - t_0}{t_r - t_0}, 0, 1\Big),\qquad
 *   d_{\max}(t) = d_{\max}^{\text{end}}\,\operatorname{clip}\Big(\frac{t - t_0}{t_d - t_0}, 0, 1\Big)$$
 *
 * @param options - the knobs (defaults: the paper's numbers)
 * @returns the two limits as functions of the step
 * @throws NormkitError `E_OPTION` for a negative or non-integer `warmupSteps`, a final
 *   `rmax` < 1 or `dmax` < 0 (or not finite), or an end step that is not after the warm-up
 * @example
 * ```ts
 * const layer = new BatchRenorm({ numFeatures: 64, ...batchRenormSchedule() });
 * // a faster ramp for a short run:
 * const quick = batchRenormSchedule({ warmupSteps: 500, rmaxSteps: 4000, dmaxSteps: 2500 });
 * quick.rmax(2250); // 2
 * ```
 */
export function batchRenormSchedule(options: BatchRenormScheduleOptions = {}): BatchRenormSchedule {
  if (typeof options !== 'object' || options === null) {
    throw new NormkitError('E_OPTION', `batchRenormSchedule options: expected an object, got ${describeValue(options)}`, 'options');
  }
  const warmup = option(options, 'warmupSteps', (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  const rmaxEnd = option(options, 'rmax', (v) => Number.isFinite(v) && v >= 1, 'a finite number ≥ 1');
  const dmaxEnd = option(options, 'dmax', (v) => Number.isFinite(v) && v >= 0, 'a finite number ≥ 0');
  const rmaxSteps = option(options, 'rmaxSteps', (v) => Number.isFinite(v) && v > warmup, `a step after warmupSteps (${warmup})`);
  const dmaxSteps = option(options, 'dmaxSteps', (v) => Number.isFinite(v) && v > warmup, `a step after warmupSteps (${warmup})`);
  return Object.freeze({
    rmax: (step: number) => ramp(step, warmup, rmaxSteps, 1, rmaxEnd),
    dmax: (step: number) => ramp(step, warmup, dmaxSteps, 0, dmaxEnd),
  });
}
