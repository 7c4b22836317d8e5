import type { Shape } from '../tensor.js';
import type { KernelCalls } from './calls.js';
import { dispatchKernel } from './kernel-registry.js';
import type { KernelName } from './kernel-registry.js';
import { gradientSumsKernel, inputGradientKernel, normalizeCellsKernel } from './kernels/cells.js';
import { doubleBackwardInputKernel, doubleBackwardRowsKernel, doubleBackwardSumsKernel } from './kernels/double-backward.js';
import { momentsKernel } from './kernels/moments.js';
import { backwardRowsKernel, normalizeRowsKernel } from './kernels/rows.js';
import type { NormPlan } from './plan.js';
import { planNormalization } from './plan.js';
import type { StridedView } from './view.js';

/** The TypeScript implementation of each kernel: the reference, and the fallback of every backend. */
export const TYPESCRIPT_KERNELS: { readonly [K in KernelName]: (call: KernelCalls[K]) => void } = Object.freeze({
  moments: momentsKernel,
  normalizeCells: normalizeCellsKernel,
  normalizeRows: normalizeRowsKernel,
  gradientSums: gradientSumsKernel,
  inputGradient: inputGradientKernel,
  backwardRows: backwardRowsKernel,
  doubleBackwardSums: doubleBackwardSumsKernel,
  doubleBackwardInput: doubleBackwardInputKernel,
  doubleBackwardRows: doubleBackwardRowsKernel,
});

/**
 * Runs an engine kernel through the kernel registry: the registered backends in priority
 * order, then the TypeScript implementation.
 *
 * @param kernel - the kernel name
 * @param call - the call
 * @returns the name of the backend that ran it (`"typescript"` for the fallback)
 */
export function runKernel<K extends KernelName>(kernel: K, call: KernelCalls[K]): string {
  return dispatchKernel(kernel, call, TYPESCRIPT_KERNELS[kernel] as (call: KernelCalls[K]) => void);
}

/** The per-group statistics a normalization uses, in float64. */
export interface NormStatistics {
  /** Per group: the value subtracted ($`\mu_g`$, or 0 for an uncentered normalization). */
  readonly center: Float64Array;
  /** Per group: $`1/\sqrt{\sigma_g^2 + \epsilon}`$. */
  readonly invStd: Float64Array;
}

/** {@link NormStatistics} plus the raw biased variance (or mean square) they came from. */
export interface BatchStatistics extends NormStatistics {
  /** Per group: the biased variance $`\sigma_g^2`$, or $`\tfrac1m\sum x^2`$ when uncentered. */
  readonly variance: Float64Array;
}

/**
 * The batch statistics of `x` per group of the plan:
 *
 * $$c_g = \tfrac1m \textstyle\sum x \;(\text{or } 0),\qquad \sigma_g^2 = \tfrac1m \sum (x - c_g)^2,\qquad \mathrm{invStd}_g = \frac{1}{\sqrt{\sigma_g^2 + \epsilon}}$$
 *
 * in float64, by the `moments` kernel.
 *
 * @param x - the input (any strides), of the plan's shape
 * @param plan - the plan
 * @param centered - subtract the mean (layer, batch, group, instance norm) or not (RMS norm)
 * @param eps - added inside the square root
 * @returns center, biased variance (or mean square) and inverse standard deviation per group
 */
export function batchStatistics(x: StridedView, plan: NormPlan, centered: boolean, eps: number): BatchStatistics {
  const groups = plan.groups;
  const center = new Float64Array(groups);
  const variance = new Float64Array(groups);
  runKernel('moments', { x, plan, centered, mean: center, variance });
  const invStd = new Float64Array(groups);
  for (let g = 0; g < groups; g++) invStd[g] = 1 / Math.sqrt(variance[g] + eps);
  return { center, variance, invStd };
}

/**
 * The forward map of every normalizer on the engine: with group $`g`$ and parameter entry
 * $`p`$ of each position,
 *
 * $$y = (x - c_g)\,\mathrm{invStd}_g\,\gamma_p + \beta_p$$
 *
 * written into `y`. Per-cell coefficients are folded once when the parameters are constant
 * over each reduced run (`normalizeCells`); otherwise the `normalizeRows` kernel runs.
 *
 * @param x - the input, of the plan's shape
 * @param plan - the plan
 * @param stats - center and inverse standard deviation per group
 * @param weight - γ per parameter entry, or `null` for ones
 * @param bias - β per parameter entry, or `null` for zeros
 * @param y - the output, of the plan's shape (every element is written)
 */
export function normalizeForward(
  x: StridedView,
  plan: NormPlan,
  stats: NormStatistics,
  weight: Float64Array | null,
  bias: Float64Array | null,
  y: StridedView,
): void {
  const affine = plan.affine;
  if (affine.kind === 'rows') {
    runKernel('normalizeRows', { x, y, plan, rows: affine, center: stats.center, invStd: stats.invStd, weight, bias });
    return;
  }
  const { cells, cellGroup, cellParam } = affine;
  const center = new Float64Array(cells);
  const scale = new Float64Array(cells);
  const shift = new Float64Array(cells);
  for (let j = 0; j < cells; j++) {
    const g = cellGroup[j];
    const p = cellParam === null ? 0 : cellParam[j];
    center[j] = stats.center[g];
    scale[j] = weight === null ? stats.invStd[g] : stats.invStd[g] * weight[p];
    shift[j] = bias === null ? 0 : bias[p];
  }
  runKernel('normalizeCells', { x, y, plan, cells: affine, center, scale, shift });
}

/** How the statistics of the forward call depended on `x`. */
export interface BackwardMode {
  /** The mean was subtracted (false for RMS norm). */
  readonly centered: boolean;
  /** The statistics were computed from `x` (batch statistics), not given (running statistics). */
  readonly batchStats: boolean;
  /**
   * The divisor m of the statistics, $`\sigma^2 = \tfrac1m \sum (x - c)^2`$ (default: the
   * plan's count per group). Weight norm's $`\lVert v \rVert^2 = \sum v^2`$ passes 1.
   */
  readonly count?: number;
  /**
   * Optional: called once with the per-group sums $`\sum_g g`$ and $`\sum_g g\,(x - c_g)`$
   * (with $`g = dy\,\gamma_p`$; when every group is one cell, as in batch norm, without the
   * group's γ, which is the same on every part) after they are reduced over this call's `x`, before the input
   * gradient is formed from them; it may replace them in place. SyncBatchNorm all-reduces them
   * across workers here (and passes the global `count`), so that `dx` is the gradient of the
   * statistics of the whole distributed batch. The parameter sums returned stay this call's own.
   * Only the cells layout supports it (batch, instance and group norm); the rows layout
   * (layer norm, RMS norm with an elementwise affine) throws.
   */
  readonly reduceGroupSums?: (sumG: Float64Array, sumGCentered: Float64Array) => void;
}

/** Per parameter entry: the sums from which the parameter gradients follow. */
export interface ParamSums {
  /** $`\sum dy`$ (= ∂L/∂β). */
  readonly sumDy: Float64Array;
  /** $`\sum dy\,\hat x`$ (= ∂L/∂γ), with $`\hat x = (x - c_g)\,\mathrm{invStd}_g`$. */
  readonly sumDyXhat: Float64Array;
}

/**
 * The backward pass of every normalizer on the engine. With $`\hat x = (x - c_g)s_g`$,
 * $`g = dy\,\gamma_p`$ and $`m`$ values per group, it writes
 *
 * $$dx = s_g\Big(g - \tfrac{\kappa}{m}\textstyle\sum_g g - \hat x\,\tfrac1m \sum_g g\,\hat x\Big)$$
 *
 * into `dx` (with $`\kappa = 1`$ centered, 0 uncentered; $`dx = s_g\,g`$ when the statistics
 * are constants) and returns the parameter sums $`\sum dy`$ and $`\sum dy\,\hat x`$.
 *
 * In the cells layout the reductions run per cell (`gradientSums`), fold into per-group and
 * per-parameter sums here, and give per-cell coefficients $`dx = a_j\,dy + b_j (x - c_g) + k_j`$
 * with $`a_j = s_g\gamma_p`$, $`b_j = -s_g^3 \sum_g g(x - c_g)/m`$, $`k_j = -\kappa\,s_g \sum_g g/m`$
 * (`inputGradient`). In the rows layout one fused kernel does both (`backwardRows`).
 *
 * @param x - the forward input
 * @param dy - the upstream gradient, of the plan's shape
 * @param plan - the plan
 * @param stats - the statistics of the forward call
 * @param weight - γ per parameter entry, or `null` for ones
 * @param mode - centered or not; batch statistics or constants
 * @param dx - the output, of the plan's shape
 * @returns the parameter sums, or `null` when the plan has no parameters
 */
export function normalizeBackward(
  x: StridedView,
  dy: StridedView,
  plan: NormPlan,
  stats: NormStatistics,
  weight: Float64Array | null,
  mode: BackwardMode,
  dx: StridedView,
): ParamSums | null {
  const affine = plan.affine;
  const params = plan.params;
  if (affine.kind === 'rows') {
    if (mode.reduceGroupSums !== undefined) throw new Error('normalizeBackward: reduceGroupSums is not supported by the rows layout');
    const sums = { sumDy: new Float64Array(params), sumDyXhat: new Float64Array(params) };
    runKernel('backwardRows', {
      x,
      dy,
      dx,
      plan,
      rows: affine,
      center: stats.center,
      invStd: stats.invStd,
      weight,
      centered: mode.centered,
      batchStats: mode.batchStats,
      count: mode.count ?? plan.count,
      sumDy: sums.sumDy,
      sumDyXhat: sums.sumDyXhat,
    });
    return sums;
  }
  const { cells, cellGroup, cellParam } = affine;
  const groups = plan.groups;
  const count = mode.count ?? plan.count;
  const center = new Float64Array(cells);
  for (let j = 0; j < cells; j++) center[j] = stats.center[cellGroup[j]];
  const needSums = mode.batchStats || cellParam !== null;
  const sumDy = new Float64Array(cells);
  const sumDyCentered = new Float64Array(cells);
  if (needSums) runKernel('gradientSums', { x, dy, plan, cells: affine, center, sumDy, sumDyCentered });
  // When every group is one cell (γ constant over the group), the group sums are kept without
  // γ and γ enters through a = s·γ: the mean term is then −a·Σdy/m with the same product as the
  // a·dy term, so a one-value group (m = 1, x̂ = 0) gets dx = a·dy − a·dy = 0 exactly, not
  // rounding noise. (`reduceGroupSums` sees the sums in this form; γ is the same on every part.)
  const oneCellPerGroup = cells === groups;
  const groupSumG = new Float64Array(groups);
  const groupSumGCentered = new Float64Array(groups);
  const sums = cellParam === null ? null : { sumDy: new Float64Array(params), sumDyXhat: new Float64Array(params) };
  for (let j = 0; j < cells; j++) {
    const g = cellGroup[j];
    const gamma = oneCellPerGroup || weight === null || cellParam === null ? 1 : weight[cellParam[j]];
    groupSumG[g] += gamma * sumDy[j];
    groupSumGCentered[g] += gamma * sumDyCentered[j];
    if (sums !== null && cellParam !== null) {
      const p = cellParam[j];
      sums.sumDy[p] += sumDy[j];
      sums.sumDyXhat[p] += stats.invStd[g] * sumDyCentered[j];
    }
  }
  mode.reduceGroupSums?.(groupSumG, groupSumGCentered);
  const a = new Float64Array(cells);
  const b = new Float64Array(cells);
  const k = new Float64Array(cells);
  for (let j = 0; j < cells; j++) {
    const g = cellGroup[j];
    const s = stats.invStd[g];
    const gamma = weight === null || cellParam === null ? 1 : weight[cellParam[j]];
    a[j] = s * gamma;
    if (mode.batchStats) {
      const sumGCentered = oneCellPerGroup ? gamma * groupSumGCentered[g] : groupSumGCentered[g];
      b[j] = (-s * s * s * sumGCentered) / count;
      if (mode.centered) k[j] = oneCellPerGroup ? (-a[j] * groupSumG[g]) / count : (-s * groupSumG[g]) / count;
    }
  }
  runKernel('inputGradient', { x, dy, dx, plan, cells: affine, center, a, b, k });
  return sums;
}

/**
 * A small memo of plans by input shape, for one bound normalizer: a training loop calls
 * with the same shape every step, so the plan is built once.
 *
 * @param build - builds the plan of a shape
 * @param capacity - how many shapes to remember (default 8; the oldest is dropped)
 * @returns a function returning the plan of a shape
 */
export function planCache(build: (shape: Shape) => NormPlan, capacity = 8): (shape: Shape) => NormPlan {
  const plans = new Map<string, NormPlan>();
  return (shape) => {
    const key = shape.join(',');
    let plan = plans.get(key);
    if (plan === undefined) {
      plan = build(shape);
      if (plans.size >= capacity) plans.delete(plans.keys().next().value as string);
      plans.set(key, plan);
    }
    return plan;
  };
}

export { planNormalization };
