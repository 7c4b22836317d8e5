import { blockedShape, forEachRun, isRowMajor, rowMajorStrides } from '@normkit/core';
import type { FloatArray, RunVisitor, Shape, Tensor } from '@normkit/core';

/**
 * A raw strided view: a buffer with a shape, strides and an offset (what an `ndarray`
 * holds, without the object). Every kernel of this package works on these.
 */
export interface RawView {
  /** The buffer. */
  readonly data: FloatArray;
  /** The size of each axis. */
  readonly shape: Shape;
  /** The buffer step of each axis (may be negative). */
  readonly strides: readonly number[];
  /** The buffer index of element 0. */
  readonly offset: number;
}

/**
 * The raw view of a tensor (no copy).
 *
 * @param t - the tensor
 * @returns its buffer, shape, strides and offset
 */
export function rawView(t: Tensor): RawView {
  return { data: t.data, shape: t.shape, strides: t.stride, offset: t.offset };
}

/**
 * A row-major view over a whole buffer (no copy).
 *
 * @param data - the buffer, `Π shape` long
 * @param shape - the shape to read it as
 * @returns the view, with row-major strides and offset 0
 */
export function rowMajorView(data: FloatArray, shape: Shape): RawView {
  return { data, shape, strides: rowMajorStrides(shape), offset: 0 };
}

/**
 * Σv² per slice below this (or non-finite) makes {@link sliceNorms} recompute the slice with
 * scaling: squares of tiny float64 values lose bits as subnormals or vanish, and squares
 * of huge ones overflow. Float32 data never gets here.
 */
const SCALE_BELOW = 2 ** -900;

/**
 * Per-slice sums of squares: $`\mathrm{sums}_s = \sum v^2`$ over the elements whose index
 * along the slice axes is $`s`$. Float64 accumulators; a blocked loop for row-major views, a run-by-run
 * strided walk otherwise.
 *
 * @param v - the view
 * @param sliceAxes - `[dim]`, or `[]` for one slice over everything
 * @param sums - output, one entry per slice (overwritten)
 */
export function sliceSumsOfSquares(v: RawView, sliceAxes: readonly number[], sums: Float64Array): void {
  sums.fill(0);
  const { data } = v;
  const layout = isRowMajor(v.shape, v.strides) ? blockedShape(v.shape, sliceAxes, v.offset) : null;
  if (layout !== null) {
    const { outer, groups, inner } = layout;
    let p = layout.offset;
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < groups; s++) {
        let acc = 0;
        for (let i = 0; i < inner; i++) {
          const value = data[p++];
          acc += value * value;
        }
        sums[s] += acc;
      }
    }
    return;
  }
  forEachRun(v.shape, [v.strides], [v.offset], sliceAxes, (length, group, groupStep, pointers, steps) => {
    let p = pointers[0];
    const step = steps[0];
    if (groupStep === 0) {
      let acc = 0;
      for (let i = 0; i < length; i++, p += step) {
        const value = data[p];
        acc += value * value;
      }
      sums[group] += acc;
    } else {
      for (let i = 0, s = group; i < length; i++, p += step, s += groupStep) {
        const value = data[p];
        sums[s] += value * value;
      }
    }
  });
}

/** Walks a view run by run (blocked for row-major views): the slow but general driver. */
function visitRuns(v: RawView, sliceAxes: readonly number[], visit: RunVisitor): void {
  const layout = isRowMajor(v.shape, v.strides) ? blockedShape(v.shape, sliceAxes, v.offset) : null;
  if (layout === null) {
    forEachRun(v.shape, [v.strides], [v.offset], sliceAxes, visit);
    return;
  }
  const { outer, groups, inner } = layout;
  const pointers = [layout.offset];
  const steps = [1];
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < groups; s++) {
      visit(inner, s, 0, pointers, steps);
      pointers[0] += inner;
    }
  }
}

/**
 * Per-slice L2 norms with eps inside the root: $`\lVert v \rVert_s = \sqrt{\sum v^2 + \epsilon}`$
 * over the elements of slice $`s`$.
 *
 * A slice whose `Σv² + eps` underflows or overflows float64 is recomputed as
 * `m·sqrt(Σ(v/m)²)` with `m = max|v|` (and combined with `sqrt(eps)` by `hypot`), so
 * the norm is right for any finite `v`. NaN in a slice gives a NaN norm.
 *
 * @param v - the view
 * @param sliceAxes - `[dim]`, or `[]`
 * @param eps - added inside the root (0 for none)
 * @param norms - output, one entry per slice (overwritten)
 * @returns the index of the first slice whose norm is 0, or −1 when there is none
 */
export function sliceNorms(v: RawView, sliceAxes: readonly number[], eps: number, norms: Float64Array): number {
  sliceSumsOfSquares(v, sliceAxes, norms);
  const sliceCount = norms.length;
  let rescale: Float64Array | null = null;
  for (let s = 0; s < sliceCount; s++) {
    const squared = norms[s] + eps;
    if (squared >= SCALE_BELOW && squared < Infinity) {
      norms[s] = Math.sqrt(squared);
    } else {
      rescale ??= new Float64Array(sliceCount).fill(-1);
      rescale[s] = norms[s]; // the raw Σv², kept to tell NaN apart
    }
  }
  if (rescale !== null) rescaledNorms(v, sliceAxes, eps, rescale, norms);
  for (let s = 0; s < sliceCount; s++) if (norms[s] === 0) return s;
  return -1;
}

/** The slow path of {@link sliceNorms} for the slices with `raw[s] ≥ 0` or NaN. */
function rescaledNorms(v: RawView, sliceAxes: readonly number[], eps: number, raw: Float64Array, norms: Float64Array): void {
  const sliceCount = norms.length;
  const { data } = v;
  const maxAbs = new Float64Array(sliceCount);
  visitRuns(v, sliceAxes, (length, group, groupStep, pointers, steps) => {
    for (let i = 0, p = pointers[0], s = group; i < length; i++, p += steps[0], s += groupStep) {
      const a = Math.abs(data[p]);
      if (a > maxAbs[s]) maxAbs[s] = a;
    }
  });
  const scaled = new Float64Array(sliceCount);
  visitRuns(v, sliceAxes, (length, group, groupStep, pointers, steps) => {
    for (let i = 0, p = pointers[0], s = group; i < length; i++, p += steps[0], s += groupStep) {
      const m = maxAbs[s];
      if (m > 0 && m < Infinity) {
        const r = data[p] / m;
        scaled[s] += r * r;
      }
    }
  });
  for (let s = 0; s < sliceCount; s++) {
    const sum = raw[s];
    if (sum === -1) continue; // this slice was fine
    const m = maxAbs[s];
    if (Number.isNaN(sum)) norms[s] = NaN;
    else if (m === Infinity) norms[s] = Infinity;
    else if (m === 0) norms[s] = Math.sqrt(eps);
    else {
      const base = m * Math.sqrt(scaled[s]);
      norms[s] = eps > 0 ? Math.hypot(base, Math.sqrt(eps)) : base;
    }
  }
}

/**
 * The forward pass of weight norm once the per-slice constants are known:
 * $`w = v \cdot \mathrm{scale}_s`$ with $`\mathrm{scale}_s = g_s / \lVert v \rVert_s`$ for the
 * elements of slice $`s`$, written row-major.
 *
 * @param v - the direction
 * @param sliceAxes - `[dim]`, or `[]`
 * @param scale - `g/‖v‖` per slice
 * @param out - output, row-major, `Π shape` long
 */
export function scaleSlices(v: RawView, sliceAxes: readonly number[], scale: Float64Array, out: FloatArray): void {
  const { data } = v;
  const layout = isRowMajor(v.shape, v.strides) ? blockedShape(v.shape, sliceAxes, v.offset) : null;
  if (layout !== null) {
    const { outer, groups, inner } = layout;
    let p = layout.offset;
    let q = 0;
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < groups; s++) {
        const c = scale[s];
        for (let i = 0; i < inner; i++) out[q++] = data[p++] * c;
      }
    }
    return;
  }
  forEachRun(v.shape, [v.strides, rowMajorStrides(v.shape)], [v.offset, 0], sliceAxes, (length, group, groupStep, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    const vStep = steps[0];
    const outStep = steps[1];
    if (groupStep === 0) {
      const c = scale[group];
      for (let i = 0; i < length; i++, p += vStep, q += outStep) out[q] = data[p] * c;
    } else {
      for (let i = 0, s = group; i < length; i++, p += vStep, q += outStep, s += groupStep) out[q] = data[p] * scale[s];
    }
  });
}

/**
 * The backward pass of weight norm: with $`\hat v = v / \lVert v \rVert_s`$ per slice $`s`$,
 *
 * $$dg_s = \textstyle\sum dw \cdot \hat v,\qquad dv = \frac{g_s}{\lVert v \rVert_s}\,\big(dw - \hat v\, dg_s\big)$$
 *
 * (the sum runs over the elements of the slice).
 *
 * Two passes with float64 accumulators; `v̂` is formed per element (`v · (1/‖v‖)`), so
 * neither `Σ dw·v` nor `‖v‖²` is ever formed and nothing overflows that the result does not.
 *
 * @param v - the direction
 * @param dw - the upstream gradient, same shape as `v`
 * @param sliceAxes - `[dim]`, or `[]`
 * @param invNorm - `1/‖v‖` per slice
 * @param scale - `g/‖v‖` per slice
 * @param dg - output: `Σ dw·v̂` per slice (overwritten)
 * @param dv - output, row-major, `Π shape` long (may be a Float32Array or a Float64Array)
 */
export function weightNormBackwardKernel(
  v: RawView,
  dw: RawView,
  sliceAxes: readonly number[],
  invNorm: Float64Array,
  scale: Float64Array,
  dg: Float64Array,
  dv: FloatArray,
): void {
  dg.fill(0);
  const vData = v.data;
  const dwData = dw.data;
  const sliceCount = dg.length;
  const contiguous = isRowMajor(v.shape, v.strides) && isRowMajor(dw.shape, dw.strides);
  const layout = contiguous ? blockedShape(v.shape, sliceAxes, 0) : null;
  if (layout !== null) {
    const { outer, groups, inner } = layout;
    // Pass 1: dg = Σ dw·v̂.
    let p = v.offset;
    let q = dw.offset;
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < groups; s++) {
        const inv = invNorm[s];
        let acc = 0;
        for (let i = 0; i < inner; i++) acc += dwData[q++] * (vData[p++] * inv);
        dg[s] += acc;
      }
    }
    // Pass 2: dv = scale·(dw − v̂·dg).
    p = v.offset;
    q = dw.offset;
    let r = 0;
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < groups; s++) {
        const c = scale[s];
        const k = dg[s] * invNorm[s];
        for (let i = 0; i < inner; i++) dv[r++] = c * (dwData[q++] - k * vData[p++]);
      }
    }
    return;
  }
  const strides = [v.strides, dw.strides, rowMajorStrides(v.shape)];
  const offsets = [v.offset, dw.offset, 0];
  forEachRun(v.shape, strides, offsets, sliceAxes, (length, group, groupStep, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    const vStep = steps[0];
    const dwStep = steps[1];
    if (groupStep === 0) {
      const inv = invNorm[group];
      let acc = 0;
      for (let i = 0; i < length; i++, p += vStep, q += dwStep) acc += dwData[q] * (vData[p] * inv);
      dg[group] += acc;
    } else {
      for (let i = 0, s = group; i < length; i++, p += vStep, q += dwStep, s += groupStep) dg[s] += dwData[q] * (vData[p] * invNorm[s]);
    }
  });
  const k = new Float64Array(sliceCount);
  for (let s = 0; s < sliceCount; s++) k[s] = dg[s] * invNorm[s];
  forEachRun(v.shape, strides, offsets, sliceAxes, (length, group, groupStep, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    let r = pointers[2];
    const vStep = steps[0];
    const dwStep = steps[1];
    const dvStep = steps[2];
    if (groupStep === 0) {
      const c = scale[group];
      const kk = k[group];
      for (let i = 0; i < length; i++, p += vStep, q += dwStep, r += dvStep) dv[r] = c * (dwData[q] - kk * vData[p]);
    } else {
      for (let i = 0, s = group; i < length; i++, p += vStep, q += dwStep, r += dvStep, s += groupStep) {
        dv[r] = scale[s] * (dwData[q] - k[s] * vData[p]);
      }
    }
  });
}
