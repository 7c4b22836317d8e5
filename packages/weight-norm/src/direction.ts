import { batchStatistics, normalizeBackward, normalizeDoubleBackward, normalizeForward, planNormalization, viewOf, zeros } from '@normkit/core';
import type { NormPlan, NormStatistics, ParamSums, Shape, StridedView } from '@normkit/core';

/**
 * The statistics of `w = g·v/‖v‖` per slice, in the engine's terms: center 0 and
 * `invStd = 1/‖v‖` (with eps inside the root), plus the power-of-two factors the engine saw
 * `v` multiplied by when a slice's norm is too large or too small for it (the README's
 * Numerics section).
 */
export interface SliceStatistics extends NormStatistics {
  /**
   * Per slice, the power of two `α` the engine works on `α·v` with (so `invStd = 1/(α·‖v‖)`),
   * or `null` when every slice's norm is in range and the engine reads `v` itself.
   */
  readonly inputScale: Float64Array | null;
}

/**
 * Below this, `Σv² + eps` (or non-finite) is recomputed from a scaled copy: squares of tiny
 * float64 values lose bits as subnormals or vanish, and squares of huge ones overflow.
 * Float32 data never gets here.
 */
const SUM_OF_SQUARES_BELOW = 2 ** -900;

/** The scaling of that recomputation: `2^600` for tiny slices, `2^-600` for huge ones. */
const PRESCALE = 2 ** 600;

/**
 * The norms the engine works with directly lie in `[2^-256, 2^256]`: there its backward pass
 * forms `invStd³` (within 2^±768) without overflow or underflow. Float32 data is always inside.
 */
const NORM_EXPONENT_RANGE = 256;

/**
 * The engine plan of weight norm on `v` of `shape`: one statistics group per slice along
 * `dim` (the group axes are `[dim]`, or none for `dim = null`), and `g` indexed by the same
 * axes.
 *
 * @param shape - the shape of `v`
 * @param dim - the axis that keeps its own norm, or `null` for one norm over everything
 * @returns the plan (its `count` is the size of a slice)
 */
export function slicePlan(shape: Shape, dim: number | null): NormPlan {
  const axes = dim === null ? [] : [dim];
  return planNormalization(shape, axes, axes);
}

/** `‖v‖ = root / factor` per slice: `root` never subnormal, `factor` a power of two (`null`: all 1). */
interface ScaledNorms {
  readonly root: Float64Array;
  readonly factor: Float64Array | null;
}

/**
 * `‖v‖` per slice as `root/factor` (see {@link sliceNorms}); the split keeps a slice of
 * subnormals exact: its norm is formed at `2^600` times its size.
 */
function scaledNorms(v: StridedView, plan: NormPlan, eps: number): ScaledNorms {
  const { groups, count } = plan;
  const meanSquare = batchStatistics(v, plan, false, 0).variance;
  const root = new Float64Array(groups);
  let factor: Float64Array | null = null;
  for (let s = 0; s < groups; s++) {
    const squared = count * meanSquare[s] + eps;
    if (squared >= SUM_OF_SQUARES_BELOW && squared < Infinity) {
      root[s] = Math.sqrt(squared);
      continue;
    }
    factor ??= new Float64Array(groups).fill(1);
    factor[s] = Number.isNaN(squared) ? 1 : squared === Infinity ? 1 / PRESCALE : PRESCALE;
    root[s] = NaN; // marks the slice for the recomputation below
  }
  if (factor === null) return { root, factor };
  const scaledMeanSquare = batchStatistics(scaledCopy(v, plan, factor), plan, false, 0).variance;
  for (let s = 0; s < groups; s++) {
    if (!Number.isNaN(root[s])) continue;
    const scaled = Math.sqrt(count * scaledMeanSquare[s]);
    root[s] = eps > 0 ? Math.hypot(scaled, factor[s] * Math.sqrt(eps)) : scaled;
  }
  return { root, factor };
}

/**
 * `‖v‖` per slice, $`\lVert v \rVert_s = \sqrt{\sum v^2 + \epsilon}`$, from the engine's
 * uncentered moments (`Σv² = count · meanSquare`).
 *
 * A slice whose `Σv² + eps` underflows or overflows float64 is recomputed on `2^±600·v`
 * (a scaled float64 copy made by the engine's forward map) and scaled back, eps joined by
 * `hypot`, so the norm is right for any finite `v`. NaN in a slice gives a NaN norm;
 * ±Infinity gives Infinity.
 *
 * @param v - the direction, of the plan's shape (any strides)
 * @param plan - from {@link slicePlan}
 * @param eps - added inside the root (0 for none)
 * @returns one norm per slice
 */
export function sliceNorms(v: StridedView, plan: NormPlan, eps: number): Float64Array {
  const { root, factor } = scaledNorms(v, plan, eps);
  return factor === null ? root : root.map((r, s) => r / factor[s]);
}

/**
 * The statistics of weight norm per slice (see {@link SliceStatistics}): `‖v‖` as in
 * {@link sliceNorms}, and, when a finite non-zero norm lies outside `[2^-256, 2^256]`, a
 * power of two `α` per slice that brings `α·‖v‖` near 1 (into that range for a slice of
 * subnormals, where `α` stops at `2^1000`). Weight norm is exactly invariant under that
 * scaling (`w(α·v) = w(v)`, `dv = α·dv(α·v)`), and scaling by a power of two is exact, so
 * results do not change; only the engine's intermediate `invStd³` stays finite.
 *
 * A slice with `‖v‖ = 0` gets `invStd = Infinity` (see {@link firstZeroSlice}).
 *
 * @param v - the direction, of the plan's shape (any strides)
 * @param plan - from {@link slicePlan}
 * @param eps - added inside the root (0 for none)
 * @returns center (zeros), `invStd` and `inputScale` per slice
 */
export function sliceStatistics(v: StridedView, plan: NormPlan, eps: number): SliceStatistics {
  const groups = plan.groups;
  const { root, factor } = scaledNorms(v, plan, eps);
  let inputScale: Float64Array | null = null;
  const invStd = new Float64Array(groups);
  for (let s = 0; s < groups; s++) {
    const r = root[s];
    const f = factor === null ? 1 : factor[s];
    // log2 ‖v‖, without forming a subnormal ‖v‖.
    const exponent = Math.log2(r) - Math.log2(f);
    let relative = 1 / f; // α/factor: ‖v‖·α = root·relative, exact (powers of two)
    if (r > 0 && r < Infinity && Math.abs(exponent) > NORM_EXPONENT_RANGE) {
      inputScale ??= new Float64Array(groups).fill(1);
      const alpha = 2 ** Math.max(-1000, Math.min(1000, -Math.round(exponent)));
      inputScale[s] = alpha;
      relative = alpha / f;
    }
    invStd[s] = 1 / (r * relative);
  }
  return { center: new Float64Array(groups), invStd, inputScale };
}

/**
 * The first slice whose norm is 0 (where `w = g·v/‖v‖` is undefined without eps).
 *
 * @param stats - from {@link sliceStatistics}
 * @returns its index, or −1 when there is none
 */
export function firstZeroSlice(stats: SliceStatistics): number {
  return stats.invStd.indexOf(Infinity);
}

/**
 * The forward map $`w = g_s\,v/\lVert v \rVert_s`$ by the engine's `normalizeForward`
 * (center 0, `invStd = 1/‖v‖`, weight `g`), on `v` itself or on its scaled copy.
 *
 * @param v - the direction, of the plan's shape (any strides)
 * @param plan - from {@link slicePlan}
 * @param stats - from {@link sliceStatistics}
 * @param g - the magnitude per slice, or `null` for `w = v/‖v‖`
 * @param w - the output view, of the plan's shape (written in full)
 */
export function weightNormForward(v: StridedView, plan: NormPlan, stats: SliceStatistics, g: Float64Array | null, w: StridedView): void {
  const input = stats.inputScale === null ? v : scaledCopy(v, plan, stats.inputScale);
  normalizeForward(input, plan, stats, g, null, w);
}

/**
 * The backward map by the engine's `normalizeBackward`, uncentered, with the statistics
 * differentiated and divisor 1 (`‖v‖² = Σv²` is a sum, not a mean): with $`\hat v = v/\lVert v \rVert_s`$,
 *
 * $$dg_s = \textstyle\sum dw\,\hat v,\qquad dv = \frac{g_s}{\lVert v \rVert_s}\big(dw - \hat v\,dg_s\big).$$
 *
 * With an `inputScale`, the engine differentiates at `α·v` and `dv = α·dv(α·v)` is written by
 * its forward map (center 0, `invStd = α`).
 *
 * @param v - the direction of the forward call (any strides)
 * @param dw - the upstream gradient, of the plan's shape (any strides, either dtype)
 * @param plan - from {@link slicePlan}
 * @param stats - the statistics of the forward call
 * @param g - the magnitude per slice, or `null` for ones
 * @param dv - the output view, of the plan's shape (written in full)
 * @returns `dg` per slice, in float64
 */
export function weightNormBackward(
  v: StridedView,
  dw: StridedView,
  plan: NormPlan,
  stats: SliceStatistics,
  g: Float64Array | null,
  dv: StridedView,
): Float64Array {
  const mode = { centered: false, batchStats: true, count: 1 };
  const scale = stats.inputScale;
  // The plan indexes g by the slice axes, so the engine always returns the parameter sums.
  if (scale === null) return (normalizeBackward(v, dw, plan, stats, g, mode, dv) as ParamSums).sumDyXhat;
  const gradient = viewOf(zeros(plan.shape, 'float64'));
  const sums = normalizeBackward(scaledCopy(v, plan, scale), dw, plan, stats, g, mode, gradient) as ParamSums;
  normalizeForward(gradient, plan, { center: stats.center, invStd: scale }, null, null, dv);
  return sums.sumDyXhat;
}

/**
 * The second-order map (the VJP of {@link weightNormBackward}) by the engine's
 * `normalizeDoubleBackward`, uncentered, with divisor 1. With cotangents $`a`$ for `dv` and
 * $`\Gamma_s`$ for `dg`, it writes $`\partial S/\partial v`$ into `dv` and
 * $`\partial S/\partial dw`$ (the JVP of $`w`$ along $`(a, \Gamma)`$) into `ddw`, and returns
 * $`\partial S/\partial g`$ per slice.
 *
 * With an `inputScale` α the engine works at `u = α·v`: since `dv(v) = α·dv(u)` and
 * `dg(v) = dg(u)`, $`S = \langle \alpha a, dv(u)\rangle + \Gamma\,dg(u)`$, so the engine runs
 * with the cotangent `α·a`, and $`\partial S/\partial v = \alpha\,\partial S/\partial u`$ is
 * written by its forward map (center 0, `invStd = α`); `ddw` and `dg` need no scaling.
 *
 * @param v - the direction of the forward call (any strides)
 * @param dw - the upstream gradient of the backward call (any strides, either dtype)
 * @param ddv - the cotangent of backward's `dv` (any strides, either dtype)
 * @param plan - from {@link slicePlan}
 * @param stats - the statistics of the forward call
 * @param g - the magnitude per slice, or `null` for ones
 * @param dgradG - the cotangent of backward's `dg` per slice, or `null` for zeros
 * @param dv - output: $`\partial S/\partial v`$, of the plan's shape (written in full)
 * @param ddw - output: $`\partial S/\partial dw`$, of the plan's shape (written in full)
 * @returns $`\partial S/\partial g`$ per slice, in float64
 */
export function weightNormDoubleBackward(
  v: StridedView,
  dw: StridedView,
  ddv: StridedView,
  plan: NormPlan,
  stats: SliceStatistics,
  g: Float64Array | null,
  dgradG: Float64Array | null,
  dv: StridedView,
  ddw: StridedView,
): Float64Array {
  const mode = { centered: false, batchStats: true, count: 1 };
  const scale = stats.inputScale;
  // The plan indexes g by the slice axes, so the engine always returns ∂S/∂g.
  if (scale === null) return normalizeDoubleBackward(v, dw, plan, stats, g, { ddx: ddv, dgradWeight: dgradG, dgradBias: null }, mode, dv, ddw) as Float64Array;
  const gradient = viewOf(zeros(plan.shape, 'float64'));
  const cotangents = { ddx: scaledCopy(ddv, plan, scale), dgradWeight: dgradG, dgradBias: null };
  const dg = normalizeDoubleBackward(scaledCopy(v, plan, scale), dw, plan, stats, g, cotangents, mode, gradient, ddw) as Float64Array;
  normalizeForward(gradient, plan, { center: stats.center, invStd: scale }, null, null, dv);
  return dg;
}

/** `factor_s · v` per slice, as a new row-major float64 view (the engine's forward map with center 0). */
function scaledCopy(v: StridedView, plan: NormPlan, factor: Float64Array): StridedView {
  const copy = viewOf(zeros(plan.shape, 'float64'));
  normalizeForward(v, plan, { center: new Float64Array(plan.groups), invStd: factor }, null, null, copy);
  return copy;
}
