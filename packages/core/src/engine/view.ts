import type { FloatArray, Shape, Tensor } from '../tensor.js';

/**
 * A strided view over a typed array: what every engine kernel reads and writes. Element
 * `(i₀, …, i_{r−1})` sits at `data[offset + Σ_k i_k·strides[k]]`. An `ndarray` tensor unpacks
 * into one with {@link viewOf}, without copying.
 */
export interface StridedView {
  /** The buffer. */
  readonly data: FloatArray;
  /** The size of each axis. */
  readonly shape: Shape;
  /** The step, in elements, along each axis (any sign). */
  readonly strides: readonly number[];
  /** The index of element `(0, …, 0)`. */
  readonly offset: number;
}

/**
 * The strided view of a tensor (the same memory; nothing is copied).
 *
 * @param t - an ndarray tensor
 * @returns `{ data: t.data, shape: t.shape, strides: t.stride, offset: t.offset }`
 */
export function viewOf(t: Tensor): StridedView {
  return { data: t.data, shape: t.shape, strides: t.stride, offset: t.offset };
}

/**
 * The same memory seen with one axis split into several: axis `axis` of size
 * $`\prod_j \mathrm{sizes}_j`$ becomes `sizes.length` axes whose strides are the original
 * stride times the row-major strides of `sizes`. Group norm reads `(N, C, *)` as
 * `(N, G, C/G, *)` this way, for any strides.
 *
 * @param view - the view
 * @param axis - the axis to split (non-negative)
 * @param sizes - the sizes of the new axes, outermost first; their product must equal `view.shape[axis]`
 * @returns a view of rank `rank − 1 + sizes.length` over the same buffer and offset
 * @throws Error when the sizes do not multiply to the axis size (a programming error)
 */
export function splitAxis(view: StridedView, axis: number, sizes: readonly number[]): StridedView {
  let product = 1;
  for (const s of sizes) product *= s;
  if (product !== view.shape[axis]) {
    throw new Error(`splitAxis: sizes [${sizes.join(', ')}] do not multiply to axis ${axis} of size ${view.shape[axis]}`);
  }
  const shape: number[] = [];
  const strides: number[] = [];
  for (let k = 0; k < view.shape.length; k++) {
    if (k !== axis) {
      shape.push(view.shape[k]);
      strides.push(view.strides[k]);
      continue;
    }
    let step = view.strides[k] * product;
    for (const s of sizes) {
      step /= s;
      shape.push(s);
      strides.push(step);
    }
  }
  return { data: view.data, shape, strides, offset: view.offset };
}

/**
 * The same memory seen with one axis narrowed to `length` positions starting at `start`
 * (as `x[start : start + length]` along that axis). Ghost batch norm reads the uneven last
 * virtual batch of a batch this way, as a second plan over a view.
 *
 * @param view - the view
 * @param axis - the axis to narrow (non-negative)
 * @param start - the first position kept
 * @param length - how many positions are kept (≥ 1)
 * @returns a view of the same rank over the same buffer
 * @throws Error when the range does not lie inside the axis (a programming error)
 */
export function sliceAxis(view: StridedView, axis: number, start: number, length: number): StridedView {
  const size = view.shape[axis];
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 1 || start + length > size) {
    throw new Error(`sliceAxis: positions [${start}, ${start + length}) are not inside axis ${axis} of size ${size}`);
  }
  const shape = view.shape.slice();
  shape[axis] = length;
  return { data: view.data, shape, strides: view.strides, offset: view.offset + start * view.strides[axis] };
}
