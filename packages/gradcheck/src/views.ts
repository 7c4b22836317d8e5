import { arrayTypeOf, dtypeOf, isRowMajor, rowMajorStrides, sizeOf, stridedView, toTypedArray } from '@normkit/core';
import type { Dtype, FloatArray, Shape, Tensor } from '@normkit/core';

/**
 * The non-trivial layouts the layout checks give every input tensor, with the same values:
 *
 * - `'offset'`: row-major, starting {@link LAYOUT_PADDING} elements into a larger buffer whose
 *   other elements hold {@link PADDING_VALUE};
 * - `'permuted'`: stored with the axes in reverse order and read back through transposed
 *   strides (not row-major); a tensor with at most one axis longer than 1, which no permutation
 *   changes, is read with stride 2 instead;
 * - `'negative-stride'`: stored with every axis reversed and read back through negative
 *   strides from an offset at the far end (ndarray views allow negative strides on every axis).
 */
export type InputLayout = 'offset' | 'permuted' | 'negative-stride';

/** Every {@link InputLayout}, in the order the checks run them. */
export const INPUT_LAYOUTS: readonly InputLayout[] = ['offset', 'permuted', 'negative-stride'];

/**
 * Elements of padding before (and after) a tensor placed at an offset: odd, so that an
 * offset-ignoring read is misaligned with every row and channel.
 */
export const LAYOUT_PADDING = 7;

/**
 * The value of the padding around an input view: far from N(0, 1) values, so that a kernel
 * that reads the padding (ignoring the offset or the strides) is off by a visible amount.
 */
export const PADDING_VALUE = 223;

function paddedBuffer(dtype: Dtype, length: number, fill: number): FloatArray {
  const buffer = new (arrayTypeOf(dtype))(length);
  buffer.fill(fill);
  return buffer;
}

/**
 * A view with `t`'s values and dtype in the given layout, over a new buffer.
 *
 * @param t - the tensor (any layout)
 * @param layout - which layout
 * @returns a new tensor whose elements equal `t`'s, index by index
 */
export function viewInLayout(t: Tensor, layout: InputLayout): Tensor {
  const shape = t.shape.slice();
  const values = toTypedArray(t);
  const dtype = dtypeOf(t);
  const size = values.length;
  const rank = shape.length;
  if (layout === 'offset' || rank === 0 || size <= 1) {
    const buffer = paddedBuffer(dtype, size + 2 * LAYOUT_PADDING, PADDING_VALUE);
    buffer.set(values, LAYOUT_PADDING);
    return stridedView(buffer, shape, rowMajorStrides(shape), LAYOUT_PADDING);
  }
  if (layout === 'permuted') {
    const reversedAxes = shape.map((_, k) => rank - 1 - k);
    const storedShape = reversedAxes.map((k) => shape[k]);
    const storedStrides = rowMajorStrides(storedShape);
    // Axis k of the view is axis rank−1−k of the storage.
    const strides = shape.map((_, k) => storedStrides[rank - 1 - k]);
    if (!isRowMajor(shape, strides)) {
      const buffer = paddedBuffer(dtype, size, PADDING_VALUE);
      const view = stridedView(buffer, shape, strides, 0);
      writeRowMajor(view, values);
      return view;
    }
    // One axis longer than 1: every permutation is row-major; read every other element.
    const buffer = paddedBuffer(dtype, 2 * size + 1, PADDING_VALUE);
    const view = stridedView(buffer, shape, rowMajorStrides(shape).map((s) => 2 * s), 1);
    writeRowMajor(view, values);
    return view;
  }
  // negative-stride: element i_k sits at the mirror position on every axis.
  const base = rowMajorStrides(shape);
  const strides = base.map((s) => -s);
  let offset = 0;
  for (let k = 0; k < rank; k++) offset += (shape[k] - 1) * base[k];
  const buffer = paddedBuffer(dtype, size, PADDING_VALUE);
  const view = stridedView(buffer, shape, strides, offset);
  writeRowMajor(view, values);
  return view;
}

/** Writes row-major `values` into a view of any strides. */
function writeRowMajor(view: Tensor, values: ArrayLike<number>): void {
  const shape = view.shape;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < values.length; i++) {
    let p = view.offset;
    for (let k = 0; k < rank; k++) p += index[k] * view.stride[k];
    view.data[p] = values[i];
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
}

/**
 * A preallocated output for the `out` checks: a row-major tensor at `offset` in a buffer of
 * `offset + size + padding` elements, every element of which holds a NaN sentinel, so that
 * afterwards an element of `out` still holding it was not written and an element outside
 * `out` not holding it was written by mistake.
 */
export interface OutBuffer {
  /** The tensor handed in as `out`. */
  readonly out: Tensor;
  /** The whole buffer. */
  readonly buffer: FloatArray;
  /** Where `out` starts in `buffer`. */
  readonly start: number;
  /** How many elements `out` has. */
  readonly size: number;
}

/**
 * A new {@link OutBuffer}.
 *
 * @param shape - the output's shape
 * @param dtype - the output's dtype
 * @param offset - where `out` starts (0: a buffer of exactly its size)
 */
export function outBuffer(shape: Shape, dtype: Dtype, offset: number): OutBuffer {
  const size = sizeOf(shape);
  const buffer = paddedBuffer(dtype, size + 2 * offset, Number.NaN);
  return { out: stridedView(buffer, shape.slice(), rowMajorStrides(shape), offset), buffer, start: offset, size };
}

/**
 * What went wrong with an output written into an {@link OutBuffer}, one sentence per problem
 * (empty when nothing did): the returned tensor is not `out` or a view of exactly its memory,
 * an element of `out` was not written, or an element outside it was.
 *
 * @param returned - what the call returned (`y` or `dx`)
 * @param o - the buffer handed in
 * @param label - `'y'` or `'dx'`, for the messages
 */
export function outProblems(returned: Tensor, o: OutBuffer, label: string): string[] {
  const problems: string[] = [];
  const width = o.buffer.BYTES_PER_ELEMENT;
  const outStart = o.buffer.byteOffset + o.start * width;
  const outEnd = outStart + o.size * width;
  const sameMemory =
    returned.data.buffer === o.buffer.buffer &&
    isRowMajor(returned.shape, returned.stride) &&
    returned.data.byteOffset + returned.offset * width === outStart &&
    sizeOf(returned.shape) === o.size;
  if (returned !== o.out && !sameMemory) {
    problems.push(
      returned.data.buffer === o.buffer.buffer
        ? `the returned ${label} does not cover exactly the memory of out (bytes ${outStart}..${outEnd})`
        : `the returned ${label} is not out nor a view of its memory`,
    );
  }
  const bits = new Uint8Array(o.buffer.buffer, o.buffer.byteOffset, o.buffer.byteLength);
  const sentinel = new Uint8Array(width);
  const probe = new (o.buffer.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(1);
  probe[0] = Number.NaN;
  sentinel.set(new Uint8Array(probe.buffer));
  const isSentinel = (i: number): boolean => {
    for (let b = 0; b < width; b++) if (bits[i * width + b] !== sentinel[b]) return false;
    return true;
  };
  let unwritten = 0;
  let firstUnwritten = -1;
  for (let i = o.start; i < o.start + o.size; i++) {
    if (isSentinel(i)) {
      unwritten++;
      if (firstUnwritten < 0) firstUnwritten = i - o.start;
    }
  }
  if (unwritten > 0) problems.push(`${unwritten} of the ${o.size} elements of out were not written (the first at flat index ${firstUnwritten})`);
  let outside = 0;
  let firstOutside = -1;
  for (let i = 0; i < o.buffer.length; i++) {
    if (i >= o.start && i < o.start + o.size) continue;
    if (!isSentinel(i)) {
      outside++;
      if (firstOutside < 0) firstOutside = i;
    }
  }
  if (outside > 0) {
    problems.push(`${outside} element(s) of the buffer outside out were written (the first at buffer index ${firstOutside}, out starts at ${o.start})`);
  }
  return problems;
}
