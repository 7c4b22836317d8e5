import type { NdArray } from 'ndarray';
import type { FloatArray } from './tensor.js';

/**
 * normkit's own ndarray: a strided view over a `Float32Array` or `Float64Array` with the
 * members of the `ndarray` package's views — `data`, `shape`, `stride`, `offset`, `size`,
 * `dimension`, `dtype`, `order`, `get` / `set` / `index`, `lo` / `hi` / `step` /
 * `transpose` / `pick` — and their semantics. Element $`(i_0, \dots, i_{d-1})`$ lives at
 * $`\mathrm{data}[\mathrm{offset} + \sum_k i_k\,\mathrm{stride}_k]`$.
 *
 * The tensor helpers of `@normkit/core` ({@link tensor}, {@link fromArray}, {@link zeros},
 * {@link ones}, {@link full}) and every layer return these. The `ndarray` package builds one
 * class per dtype and rank with `new Function`, which a page under a Content-Security-Policy
 * without `'unsafe-eval'` refuses; this class is plain code, so normkit runs under
 * `script-src 'self' 'wasm-unsafe-eval'`. It satisfies `NdArray` of `@types/ndarray`, so
 * code typed against `ndarray` keeps compiling, and normkit still accepts views made by the
 * `ndarray` package (it reads only `data`, `shape`, `stride` and `offset`).
 *
 * The cost against `ndarray`'s generated classes: `get`, `set` and `index` loop over the
 * strides instead of running an unrolled expression for one rank (about 15 ns a call against
 * 2–4 ns on a 3-d tensor, measured on Node 20; normkit's kernels never call them: they read
 * `data` directly); `shape` and `stride` are arrays of the instance.
 *
 * @example
 * ```ts
 * const x = new StridedTensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], [3, 1], 0);
 * x.get(1, 2);              // 6
 * x.transpose(1, 0).get(2, 1); // 6
 * ```
 */
export class StridedTensor implements NdArray<FloatArray> {
  /** The typed array the view reads and writes. */
  data: FloatArray;
  /** The size of each axis, outermost first. */
  shape: number[];
  /** The step in `data` between neighbours along each axis (may be negative). */
  stride: number[];
  /** Where element `(0, …, 0)` sits in `data`. */
  offset: number;

  /**
   * A view; nothing is copied and nothing is checked (see {@link assertTensor}).
   *
   * @param data - the typed array
   * @param shape - the size of each axis
   * @param stride - the stride of each axis, in elements
   * @param offset - the position of element `(0, …, 0)` in `data`
   */
  constructor(data: FloatArray, shape: number[], stride: number[], offset: number) {
    this.data = data;
    this.shape = shape;
    this.stride = stride;
    this.offset = offset;
  }

  /** `'float32'` or `'float64'`, from the typed array. */
  get dtype(): 'float32' | 'float64' {
    return this.data instanceof Float32Array ? 'float32' : 'float64';
  }

  /** The number of elements, $`\prod_k \mathrm{shape}_k`$ (1 for a 0-d view). */
  get size(): number {
    const shape = this.shape;
    let size = 1;
    for (let k = 0; k < shape.length; k++) size *= shape[k];
    return size;
  }

  /** The number of axes. */
  get dimension(): number {
    return this.shape.length;
  }

  /**
   * The axes sorted by |stride|, smallest first: the innermost axis in memory comes first.
   * Ties keep the axis order, except in 3-d, where ties are broken as the `ndarray` package's
   * 3-d class breaks them (e.g. `[0, 2, 1]` for three equal strides).
   */
  get order(): number[] {
    const stride = this.stride;
    if (stride.length === 3) return order3(Math.abs(stride[0]), Math.abs(stride[1]), Math.abs(stride[2]));
    const axes = stride.map((_, k) => k);
    return axes.sort((a, b) => Math.abs(stride[a]) - Math.abs(stride[b]) || a - b);
  }

  /** The same view with its axes reversed (`transpose(d−1, …, 0)`). */
  get T(): StridedTensor {
    return new StridedTensor(this.data, this.shape.slice().reverse(), this.stride.slice().reverse(), this.offset);
  }

  /**
   * The position in `data` of an element: $`\mathrm{offset} + \sum_k i_k\,\mathrm{stride}_k`$.
   *
   * @param index - one index per axis
   * @returns the position (not checked against the bounds)
   */
  index(...index: number[]): number {
    const stride = this.stride;
    let p = this.offset;
    for (let k = 0; k < stride.length; k++) p += stride[k] * index[k];
    return p;
  }

  /**
   * Reads an element.
   *
   * @param index - one index per axis
   * @returns the value
   */
  get(...index: number[]): number {
    const stride = this.stride;
    let p = this.offset;
    for (let k = 0; k < stride.length; k++) p += stride[k] * index[k];
    return this.data[p];
  }

  /**
   * Writes an element: `set(i0, …, value)`.
   *
   * @param indexAndValue - one index per axis, then the value
   * @returns the value written
   */
  set(...indexAndValue: number[]): number {
    const stride = this.stride;
    let p = this.offset;
    for (let k = 0; k < stride.length; k++) p += stride[k] * indexAndValue[k];
    const value = indexAndValue[stride.length];
    this.data[p] = value;
    return value;
  }

  /**
   * The view cut to the first `n_k` elements of each axis; an axis whose argument is
   * missing, not a number or negative keeps its size.
   *
   * @param ends - per axis, the new size
   * @returns a view over the same data
   */
  hi(...ends: number[]): StridedTensor {
    const shape = this.shape.map((n, k) => (typeof ends[k] !== 'number' || ends[k] < 0 ? n : ends[k] | 0));
    return new StridedTensor(this.data, shape, this.stride.slice(), this.offset);
  }

  /**
   * The view starting at element `i_k` of each axis; an axis whose argument is missing, not a
   * number or negative keeps its start.
   *
   * @param starts - per axis, the first index kept
   * @returns a view over the same data
   */
  lo(...starts: number[]): StridedTensor {
    const shape = this.shape.slice();
    let offset = this.offset;
    for (let k = 0; k < shape.length; k++) {
      const start = starts[k];
      if (typeof start === 'number' && start >= 0) {
        const d = start | 0;
        offset += this.stride[k] * d;
        shape[k] -= d;
      }
    }
    return new StridedTensor(this.data, shape, this.stride.slice(), offset);
  }

  /**
   * Every `s_k`-th element of each axis, from the far end when `s_k` is negative; an axis
   * whose argument is not a number keeps its step.
   *
   * @param steps - per axis, the step
   * @returns a view over the same data
   */
  step(...steps: number[]): StridedTensor {
    const shape = this.shape.slice();
    const stride = this.stride.slice();
    let offset = this.offset;
    for (let k = 0; k < shape.length; k++) {
      const s = steps[k];
      if (typeof s !== 'number') continue;
      const d = s | 0;
      if (d < 0) {
        offset += stride[k] * (shape[k] - 1);
        shape[k] = Math.ceil(-shape[k] / d);
      } else {
        shape[k] = Math.ceil(shape[k] / d);
      }
      stride[k] *= d;
    }
    return new StridedTensor(this.data, shape, stride, offset);
  }

  /**
   * The view with its axes permuted: axis `k` of the result is axis `axes[k]` of this view
   * (a missing argument keeps the axis in place).
   *
   * @param axes - a permutation of `0 … d−1`
   * @returns a view over the same data
   */
  transpose(...axes: number[]): StridedTensor {
    const d = this.shape.length;
    const shape = new Array<number>(d);
    const stride = new Array<number>(d);
    for (let k = 0; k < d; k++) {
      const axis = axes[k] === undefined ? k : axes[k] | 0;
      shape[k] = this.shape[axis];
      stride[k] = this.stride[axis];
    }
    return new StridedTensor(this.data, shape, stride, this.offset);
  }

  /**
   * The view with the axes given a non-negative index fixed at it and removed; the axes
   * given `null` (or nothing, or a negative number) are kept.
   *
   * @param index - per axis, the index to fix, or `null` to keep the axis
   * @returns a view over the same data, of lower rank
   */
  pick(...index: Array<number | null>): StridedTensor {
    const shape: number[] = [];
    const stride: number[] = [];
    let offset = this.offset;
    for (let k = 0; k < this.shape.length; k++) {
      const i = index[k];
      // As ndarray's (offset + stride·i) | 0: an integer position even for a fractional index,
      // without | 0's wrap-around at 2^31 (Node allows longer typed arrays).
      if (typeof i === 'number' && i >= 0) offset = Math.trunc(offset + this.stride[k] * i);
      else {
        shape.push(this.shape[k]);
        stride.push(this.stride[k]);
      }
    }
    return new StridedTensor(this.data, shape, stride, offset);
  }
}

/**
 * A {@link StridedTensor} over `data` with `ndarray(data, shape, stride, offset)`'s defaults:
 * row-major strides when `stride` is missing, and when `offset` is missing the position that
 * puts every axis with a negative stride at its far end. The drop-in for the `ndarray`
 * package's constructor, without its `new Function`.
 *
 * @param data - a `Float32Array` or `Float64Array`
 * @param shape - the size of each axis (default `[data.length]`)
 * @param stride - the stride of each axis (default row-major)
 * @param offset - the position of element `(0, …, 0)` (default: 0, or the far end of negative strides)
 * @returns the view; nothing is copied or checked
 * @example
 * ```ts
 * const reversed = stridedView(new Float64Array([1, 2, 3]), [3], [-1]); // offset 2
 * reversed.get(0); // 3
 * ```
 */
export function stridedView(data: FloatArray, shape: readonly number[] = [data.length], stride?: readonly number[], offset?: number): StridedTensor {
  const d = shape.length;
  let strides: number[];
  if (stride === undefined) {
    strides = new Array<number>(d);
    for (let k = d - 1, size = 1; k >= 0; k--) {
      strides[k] = size;
      size *= shape[k];
    }
  } else strides = stride.slice();
  let start = offset;
  if (start === undefined) {
    start = 0;
    for (let k = 0; k < d; k++) if (strides[k] < 0) start -= (shape[k] - 1) * strides[k];
  }
  return new StridedTensor(data, shape.slice(), strides, start);
}

/** `order` of a 3-d view from its absolute strides, with `ndarray`'s tie-breaking. */
function order3(s0: number, s1: number, s2: number): number[] {
  if (s0 > s1) {
    if (s1 > s2) return [2, 1, 0];
    return s0 > s2 ? [1, 2, 0] : [1, 0, 2];
  }
  if (s0 > s2) return [2, 0, 1];
  return s2 > s1 ? [0, 1, 2] : [0, 2, 1];
}
