// Test helpers for the engine: strided views of known values laid out in memory in several
// ways, a reader back to row-major order, and the plain multi-index loops the kernel tests
// use as their float64 reference. Not shipped (outside src/).
import type { StridedView } from '@normkit/core';

/**
 * How a view's elements sit in its buffer:
 * - `contiguous`: row-major, offset 0 (the blocked fast paths);
 * - `offset`: row-major, starting at index 5 of a longer buffer (the fast paths with an offset);
 * - `permuted`: the axes stored in reverse order (a transposed view: strided path);
 * - `negative`: every axis walked backwards (negative strides: strided path);
 * - `gapped`: row-major over a buffer twice as long, every other element (strided path).
 */
export type ViewKind = 'contiguous' | 'offset' | 'permuted' | 'negative' | 'gapped';

/** Every view kind. */
export const VIEW_KINDS: readonly ViewKind[] = ['contiguous', 'offset', 'permuted', 'negative', 'gapped'];

/** A seeded uniform generator on [0, 1) (mulberry32). */
export function uniformRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` values mean + std·N(0, 1) (Box–Muller), rounded to float32 so either dtype holds them exactly. */
export function normalValues(size: number, seed: number, mean = 0, std = 1): Float64Array {
  const next = uniformRng(seed);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const u = 1 - next();
    const v = next();
    out[i] = Math.fround(mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

/** Π shape. */
export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides of a shape. */
export function rowMajor(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = step;
    step *= shape[k];
  }
  return strides;
}

/** Calls `visit(index, flat)` for every multi-index of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], visit: (index: readonly number[], flat: number) => void): void {
  const size = sizeOfShape(shape);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    visit(index, flat);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
}

/** The buffer index of a multi-index in a view. */
export function addressOf(view: StridedView, index: readonly number[]): number {
  let p = view.offset;
  for (let k = 0; k < index.length; k++) p += index[k] * view.strides[k];
  return p;
}

/**
 * A view of `shape` whose element at multi-index `i` is `values[rowMajorIndex(i)]`, laid out as
 * `kind` says, in a buffer of `dtype` whose unused slots hold `fill`.
 */
export function layView(
  values: ArrayLike<number>,
  shape: readonly number[],
  kind: ViewKind,
  dtype: 'float32' | 'float64' = 'float64',
  fill = Number.NaN,
): StridedView {
  const size = sizeOfShape(shape);
  const rank = shape.length;
  let strides: number[];
  let offset = 0;
  let length = size;
  switch (kind) {
    case 'contiguous':
      strides = rowMajor(shape);
      break;
    case 'offset':
      strides = rowMajor(shape);
      offset = 5;
      length = size + 8;
      break;
    case 'permuted': {
      // memory order: the last axis outermost, the first innermost
      const reversed = shape.slice().reverse();
      const physical = rowMajor(reversed);
      strides = shape.map((_, k) => physical[rank - 1 - k]);
      break;
    }
    case 'negative': {
      const forward = rowMajor(shape);
      strides = forward.map((s) => -s);
      offset = size - 1 + 3;
      length = size + 6;
      break;
    }
    case 'gapped':
      strides = rowMajor(shape).map((s) => 2 * s);
      length = 2 * size;
      break;
  }
  const data = dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
  data.fill(fill);
  const view: StridedView = { data, shape: shape.slice(), strides, offset };
  forEachIndex(shape, (index, flat) => {
    data[addressOf(view, index)] = values[flat];
  });
  return view;
}

/** A view's values in row-major order, as float64. */
export function readView(view: StridedView): Float64Array {
  const out = new Float64Array(sizeOfShape(view.shape));
  forEachIndex(view.shape, (index, flat) => {
    out[flat] = view.data[addressOf(view, index)];
  });
  return out;
}

/** Whether every buffer slot the view does not address still holds NaN (nothing was written outside it). */
export function outsideUntouched(view: StridedView): boolean {
  const addressed = new Set<number>();
  forEachIndex(view.shape, (index) => {
    addressed.add(addressOf(view, index));
  });
  for (let p = 0; p < view.data.length; p++) {
    if (!addressed.has(p) && !Number.isNaN(view.data[p])) return false;
  }
  return true;
}

/** The row-major index over `axes` of a multi-index (0 for no axes). */
export function jointIndex(index: readonly number[], shape: readonly number[], axes: readonly number[]): number {
  let j = 0;
  for (const axis of axes) j = j * shape[axis] + index[axis];
  return j;
}

/** Π of the sizes of `axes`. */
export function countOf(shape: readonly number[], axes: readonly number[]): number {
  return axes.reduce((p, axis) => p * shape[axis], 1);
}

/** The largest |actual − expected| / max(1, |expected|) (NaN counts as Infinity). */
export function worstError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}

/** The largest |actual − expected| / |expected| (for quantities that are never near zero). */
export function worstRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.abs(expected[i]);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}

/**
 * The float64 reference of per-group moments: the two-pass mean and biased variance over
 * the positions whose joint index over `groupAxes` is the group (centered), or mean 0 and the
 * mean square (uncentered).
 */
export function referenceMoments(
  values: ArrayLike<number>,
  shape: readonly number[],
  groupAxes: readonly number[],
  centered: boolean,
): { mean: Float64Array; variance: Float64Array } {
  const groups = countOf(shape, groupAxes);
  const count = sizeOfShape(shape) / groups;
  const mean = new Float64Array(groups);
  const variance = new Float64Array(groups);
  if (centered) {
    forEachIndex(shape, (index, flat) => {
      mean[jointIndex(index, shape, groupAxes)] += values[flat];
    });
    for (let g = 0; g < groups; g++) mean[g] /= count;
  }
  forEachIndex(shape, (index, flat) => {
    const g = jointIndex(index, shape, groupAxes);
    const d = values[flat] - mean[g];
    variance[g] += d * d;
  });
  for (let g = 0; g < groups; g++) variance[g] /= count;
  return { mean, variance };
}
