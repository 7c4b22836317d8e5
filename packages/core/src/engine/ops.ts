import type { Shape } from '../tensor.js';
import { ON_HEAP_TYPED_ARRAY_BYTES } from '../tensor.js';
import type { BackwardCellsCall, KernelCalls, NormalizeBatchCall } from './calls.js';
import { Float64Scratch } from './scratch.js';
import { dispatchKernel } from './kernel-registry.js';
import type { KernelName } from './kernel-registry.js';
import { gradientSumsKernel, inputGradientKernel, normalizeCellsKernel } from './kernels/cells.js';
import { doubleBackwardInputKernel, doubleBackwardRowsKernel, doubleBackwardSumsKernel } from './kernels/double-backward.js';
import { momentsKernel } from './kernels/moments.js';
import { backwardRowsKernel, normalizeRowsKernel } from './kernels/rows.js';
import type { CellsLayout, NormPlan } from './plan.js';
import { planNormalization } from './plan.js';
import type { StridedView } from './view.js';

/**
 * The TypeScript implementation of each kernel: the reference, and the fallback of every
 * backend. The fused kernels' fallbacks run their steps' kernels through the registry.
 */
export const TYPESCRIPT_KERNELS: { readonly [K in KernelName]: (call: KernelCalls[K]) => void } = Object.freeze({
  normalizeBatch: (call: NormalizeBatchCall) => normalizeBatchSplit(call),
  backwardCells: (call: BackwardCellsCall) => backwardCellsSplit(call),
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

/** The engine's own temporaries (see {@link Float64Scratch}): forward coefficients, backward sums and coefficients. */
const forwardScratch = new Float64Scratch(3);
const backwardSumsScratch = new Float64Scratch(3);
const backwardScratch = new Float64Scratch(6);

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

/**
 * {@link NormStatistics} plus the raw biased variance (or mean square) they came from. As
 * returned by {@link batchStatistics} and {@link normalizeBatch}, the three arrays are views
 * into one new array when they are over 64 bytes each (one allocation; see `packedTensors`):
 * read their bytes through `byteOffset`/`byteLength`, not `buffer` alone.
 */
export interface BatchStatistics extends NormStatistics {
  /** Per group: the biased variance $`\sigma_g^2`$, or $`\tfrac1m\sum x^2`$ when uncentered. */
  readonly variance: Float64Array;
}

/**
 * `parts` zeroed float64 arrays of `n` values that reach the caller (so they cannot be
 * scratch): consecutive views into one new array (one allocation instead of `parts`), or
 * separate small arrays when each fits on V8's heap (see {@link ON_HEAP_TYPED_ARRAY_BYTES}).
 */
function zeroedParts(n: number, parts: number): Float64Array[] {
  const packed = 8 * n <= ON_HEAP_TYPED_ARRAY_BYTES ? null : new Float64Array(parts * n);
  const out: Float64Array[] = [];
  for (let i = 0; i < parts; i++) out.push(packed === null ? new Float64Array(n) : packed.subarray(i * n, (i + 1) * n));
  return out;
}

/** Per-group center, variance and invStd of one call (see {@link zeroedParts}). */
function statisticsArrays(groups: number): { center: Float64Array; variance: Float64Array; invStd: Float64Array } {
  const [center, variance, invStd] = zeroedParts(groups, 3);
  return { center, variance, invStd };
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
  const { center, variance, invStd } = statisticsArrays(plan.groups);
  const groups = plan.groups;
  runKernel('moments', { x, plan, centered, mean: center, variance });
  for (let g = 0; g < groups; g++) invStd[g] = 1 / Math.sqrt(variance[g] + eps);
  return { center, variance, invStd };
}

/** Per-cell forward coefficients: what `normalizeCells` applies. */
export interface CellCoefficients {
  /** Per cell: the center of its group. */
  readonly center: Float64Array;
  /** Per cell: $`s_g\,\gamma_p`$. */
  readonly scale: Float64Array;
  /** Per cell: $`\beta_p`$. */
  readonly shift: Float64Array;
}

/**
 * Folds group statistics and parameters into per-cell forward coefficients,
 * $`\mathrm{scale}_j = s_{g(j)}\,\gamma_{p(j)}`$ and $`\mathrm{shift}_j = \beta_{p(j)}`$
 * (shared by the TypeScript path and backends that implement the fused `normalizeBatch`).
 *
 * @param cells - the plan's cells layout
 * @param stats - center and inverse standard deviation per group
 * @param weight - γ per parameter entry, or `null` for ones
 * @param bias - β per parameter entry, or `null` for zeros
 * @param scratch - optional: take the three arrays from slots 0–2 of this scratch (valid until
 *   they are taken again) instead of allocating them
 * @returns center, scale and shift per cell
 */
export function cellCoefficients(
  cells: CellsLayout,
  stats: NormStatistics,
  weight: Float64Array | null,
  bias: Float64Array | null,
  scratch?: Float64Scratch,
): CellCoefficients {
  const { cellGroup, cellParam } = cells;
  const n = cells.cells;
  const center = scratch === undefined ? new Float64Array(n) : scratch.take(0, n);
  const scale = scratch === undefined ? new Float64Array(n) : scratch.take(1, n);
  const shift = scratch === undefined ? new Float64Array(n) : scratch.take(2, n);
  for (let j = 0; j < n; j++) {
    const g = cellGroup[j];
    const p = cellParam === null ? 0 : cellParam[j];
    center[j] = stats.center[g];
    scale[j] = weight === null ? stats.invStd[g] : stats.invStd[g] * weight[p];
    shift[j] = bias === null ? 0 : bias[p];
  }
  return { center, scale, shift };
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
  const { center, scale, shift } = cellCoefficients(affine, stats, weight, bias, forwardScratch);
  runKernel('normalizeCells', { x, y, plan, cells: affine, center, scale, shift });
}

/**
 * Batch statistics and the forward map in one call — {@link batchStatistics} then
 * {@link normalizeForward} — through the fused `normalizeBatch` kernel, so a backend reads `x`
 * once (a backend that copies inputs into its own memory copies it once). When no backend
 * takes the fused call, the two steps run through the registry one after the other.
 *
 * @param x - the input, of the plan's shape
 * @param plan - the plan
 * @param centered - subtract the mean (or not: RMS norm)
 * @param eps - added inside the square root
 * @param weight - γ per parameter entry, or `null` for ones
 * @param bias - β per parameter entry, or `null` for zeros
 * @param y - the output, of the plan's shape
 * @param beforeWrite - optional check of the statistics before `y` is written (it may throw,
 *   leaving `y` untouched; see {@link NormalizeBatchCall.beforeWrite})
 * @returns the statistics used, per group
 */
export function normalizeBatch(
  x: StridedView,
  plan: NormPlan,
  centered: boolean,
  eps: number,
  weight: Float64Array | null,
  bias: Float64Array | null,
  y: StridedView,
  beforeWrite?: (center: Float64Array, variance: Float64Array, invStd: Float64Array) => void,
): BatchStatistics {
  const { center, variance, invStd } = statisticsArrays(plan.groups);
  // A plain literal, no spread: spreading `beforeWrite` in conditionally made V8 build this
  // object on a slow path (~20 µs per call, measured).
  const call: NormalizeBatchCall = { beforeWrite, x, y, plan, centered, eps, weight, bias, center, variance, invStd };
  dispatchKernel('normalizeBatch', call, normalizeBatchSplit);
  return { center: call.center, variance: call.variance, invStd: call.invStd };
}

/** The fallback of `normalizeBatch`: the `moments` kernel, then the forward map, each through the registry. */
function normalizeBatchSplit(call: NormalizeBatchCall): void {
  const { x, y, plan, centered, eps, weight, bias, center, variance, invStd } = call;
  runKernel('moments', { x, plan, centered, mean: center, variance });
  for (let g = 0; g < plan.groups; g++) invStd[g] = 1 / Math.sqrt(variance[g] + eps);
  call.beforeWrite?.(center, variance, invStd);
  normalizeForward(x, plan, { center, invStd }, weight, bias, y);
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

/**
 * Per parameter entry: the sums from which the parameter gradients follow. As returned by
 * {@link normalizeBackward}, both are views into one new array when they are over 64 bytes
 * each (one allocation).
 */
export interface ParamSums {
  /** $`\sum dy`$ (= ∂L/∂β). */
  readonly sumDy: Float64Array;
  /** $`\sum dy\,\hat x`$ (= ∂L/∂γ), with $`\hat x = (x - c_g)\,\mathrm{invStd}_g`$. */
  readonly sumDyXhat: Float64Array;
}

/** The parameter sums of one call (see {@link zeroedParts}). */
function paramSumsArrays(params: number): { sumDy: Float64Array; sumDyXhat: Float64Array } {
  const [sumDy, sumDyXhat] = zeroedParts(params, 2);
  return { sumDy, sumDyXhat };
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
    const sums = paramSumsArrays(params);
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
  const count = mode.count ?? plan.count;
  const { sumDy, sumDyXhat } = paramSumsArrays(params);
  const call: BackwardCellsCall = {
    x,
    dy,
    dx,
    plan,
    cells: affine,
    center: stats.center,
    invStd: stats.invStd,
    weight,
    centered: mode.centered,
    batchStats: mode.batchStats,
    count,
    sumDy,
    sumDyXhat,
  };
  // A hook between the reductions and the input gradient (sync batch norm) rules out the fused kernel.
  if (mode.reduceGroupSums === undefined) dispatchKernel('backwardCells', call, backwardCellsSplit);
  else backwardCellsSplit(call, mode.reduceGroupSums);
  return affine.cellParam === null ? null : { sumDy: call.sumDy, sumDyXhat: call.sumDyXhat };
}

/** Per-cell backward coefficients: what `inputGradient` applies, and the parameter sums. */
export interface CellGradientCoefficients {
  /** Per cell: the center of its group. */
  readonly center: Float64Array;
  /** Per cell: the coefficient of `dy`, $`s_g\gamma_p`$. */
  readonly a: Float64Array;
  /** Per cell: the coefficient of $`x - c_g`$. */
  readonly b: Float64Array;
  /** Per cell: the constant. */
  readonly k: Float64Array;
}

/**
 * Folds the per-cell gradient sums into per-group sums, the parameter sums and the per-cell
 * coefficients of the input gradient (shared by the TypeScript path and backends that implement
 * the fused `backwardCells`): {@link cellInputGradientCoefficients}, then
 * {@link addCellParamSums}. A backend that may still decline the call after folding (its
 * float32 constants out of range) calls the two itself, and adds the parameter sums only once it
 * keeps the call, so that the fallback does not count them twice.
 *
 * @param call - the backward call (its parameter sums are added into)
 * @param sumDy - per cell, $`\sum dy`$
 * @param sumDyCentered - per cell, $`\sum dy\,(x - c_g)`$
 * @param reduceGroupSums - optional hook on the per-group sums (see {@link BackwardMode})
 * @param scratch - optional: take the temporaries and the returned coefficients from slots 0–5
 *   of this scratch (valid until they are taken again) instead of allocating them
 * @returns the per-cell coefficients
 */
export function cellGradientCoefficients(
  call: BackwardCellsCall,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
  reduceGroupSums?: (sumG: Float64Array, sumGCentered: Float64Array) => void,
  scratch?: Float64Scratch,
): CellGradientCoefficients {
  const coefficients = cellInputGradientCoefficients(call, sumDy, sumDyCentered, reduceGroupSums, scratch);
  addCellParamSums(call, sumDy, sumDyCentered);
  return coefficients;
}

/**
 * The per-cell coefficients of the input gradient, from the per-cell gradient sums folded into
 * per-group sums; the call's parameter sums are not touched (see {@link addCellParamSums}).
 * With $`S_1 = \sum_g g`$ and $`S_2 = \sum_g g\,(x - c_g)`$ per group, $`g = \gamma\,dy`$:
 * $`a_j = s\gamma_p`$, $`b_j = -s^3 S_2/m`$, $`k_j = -\kappa\,s\,S_1/m`$ (0 when the statistics are
 * constants). When every group is one cell, the group sums are kept without γ and the mean term is
 * written $`-a_j \sum dy/m`$. A one-value group (centered, batch statistics) has $`\hat x \equiv 0`$,
 * so every coefficient is 0 and $`dx = 0`$ exactly, on any backend and in either dtype.
 *
 * @param call - the backward call (read only)
 * @param sumDy - per cell, $`\sum dy`$
 * @param sumDyCentered - per cell, $`\sum dy\,(x - c_g)`$
 * @param reduceGroupSums - optional hook on the per-group sums (see {@link BackwardMode})
 * @param scratch - optional: take the temporaries and the returned coefficients from slots 0–5
 *   of this scratch (valid until they are taken again) instead of allocating them
 * @returns the per-cell coefficients
 */
export function cellInputGradientCoefficients(
  call: BackwardCellsCall,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
  reduceGroupSums?: (sumG: Float64Array, sumGCentered: Float64Array) => void,
  scratch?: Float64Scratch,
): CellGradientCoefficients {
  const { plan, weight, count } = call;
  const { cells, cellGroup, cellParam } = call.cells;
  const groups = plan.groups;
  const take = (slot: number, n: number) => (scratch === undefined ? new Float64Array(n) : scratch.take(slot, n));
  const center = take(0, cells);
  for (let j = 0; j < cells; j++) center[j] = call.center[cellGroup[j]];
  const oneCellPerGroup = cells === groups;
  const groupSumG = take(1, groups);
  const groupSumGCentered = take(2, groups);
  for (let j = 0; j < cells; j++) {
    const g = cellGroup[j];
    const gamma = oneCellPerGroup || weight === null || cellParam === null ? 1 : weight[cellParam[j]];
    groupSumG[g] += gamma * sumDy[j];
    groupSumGCentered[g] += gamma * sumDyCentered[j];
  }
  reduceGroupSums?.(groupSumG, groupSumGCentered);
  const a = take(3, cells);
  const b = take(4, cells);
  const k = take(5, cells);
  // One value per group with centered batch statistics: x̂ ≡ 0 whatever x is, so dx ≡ 0. The
  // coefficients are all 0 so that a float32 backend gives that exactly too (a·dy + k with a
  // rounded to float32 would leave a rounding residue of a·dy).
  const constantOutput = call.batchStats && call.centered && count === 1;
  for (let j = 0; j < cells; j++) {
    if (constantOutput) continue;
    const g = cellGroup[j];
    const s = call.invStd[g];
    const gamma = weight === null || cellParam === null ? 1 : weight[cellParam[j]];
    a[j] = s * gamma;
    if (call.batchStats) {
      const sumGCentered = oneCellPerGroup ? gamma * groupSumGCentered[g] : groupSumGCentered[g];
      b[j] = (-s * s * s * sumGCentered) / count;
      if (call.centered) k[j] = oneCellPerGroup ? (-a[j] * groupSumG[g]) / count : (-s * groupSumG[g]) / count;
    }
  }
  return { center, a, b, k };
}

/**
 * Adds a backward call's per-cell gradient sums into its parameter sums (when the layout has
 * per-cell parameters): $`\sum dy`$ into `call.sumDy[p]` and $`s_g \sum dy\,(x - c_g)`$ (that is
 * $`\sum dy\,\hat x`$) into `call.sumDyXhat[p]`, for the parameter `p` of each cell.
 *
 * @param call - the backward call (its `sumDy`, `sumDyXhat` are added into)
 * @param sumDy - per cell, $`\sum dy`$
 * @param sumDyCentered - per cell, $`\sum dy\,(x - c_g)`$
 */
export function addCellParamSums(call: BackwardCellsCall, sumDy: Float64Array, sumDyCentered: Float64Array): void {
  const { cells, cellGroup, cellParam } = call.cells;
  if (cellParam === null) return;
  const paramSumDy = call.sumDy;
  const paramSumDyXhat = call.sumDyXhat;
  for (let j = 0; j < cells; j++) {
    const p = cellParam[j];
    paramSumDy[p] += sumDy[j];
    paramSumDyXhat[p] += call.invStd[cellGroup[j]] * sumDyCentered[j];
  }
}

/** The fallback of `backwardCells`: `gradientSums`, the folding, then `inputGradient`, each through the registry. */
function backwardCellsSplit(call: BackwardCellsCall, reduceGroupSums?: (sumG: Float64Array, sumGCentered: Float64Array) => void): void {
  const { x, dy, dx, plan, cells } = call;
  const n = cells.cells;
  // No scratch around a hook: it runs the caller's code (sync batch norm's all-reduce) mid-call.
  const scratch = reduceGroupSums === undefined ? backwardScratch : undefined;
  const sums = reduceGroupSums === undefined ? backwardSumsScratch : undefined;
  const sumDy = sums === undefined ? new Float64Array(n) : sums.take(0, n);
  const sumDyCentered = sums === undefined ? new Float64Array(n) : sums.take(1, n);
  if (call.batchStats || cells.cellParam !== null) {
    const center = sums === undefined ? new Float64Array(n) : sums.take(2, n);
    for (let j = 0; j < n; j++) center[j] = call.center[cells.cellGroup[j]];
    runKernel('gradientSums', { x, dy, plan, cells, center, sumDy, sumDyCentered });
  }
  const { center, a, b, k } = cellGradientCoefficients(call, sumDy, sumDyCentered, reduceGroupSums, scratch);
  runKernel('inputGradient', { x, dy, dx, plan, cells, center, a, b, k });
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
