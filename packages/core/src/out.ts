import { NormkitError } from './errors.js';
import type { Dtype, Shape, Tensor } from './tensor.js';
import { arrayTypeOf, assertTensor, formatShape, isContiguous, sizeOf, tensor } from './tensor.js';

/**
 * The output tensor of a kernel: `out` when the caller preallocated one (checked), else a
 * new row-major tensor.
 *
 * @param out - the caller's buffer, or `undefined`
 * @param shape - the output shape
 * @param dtype - the output dtype
 * @param name - the argument name, for messages (e.g. `"out"`)
 * @param inputs - tensors `out` must not overlap (it would be overwritten while they are read)
 * @returns `out` itself, or (when `out` starts at a non-zero offset) a view over the same
 *   memory that starts at that offset, so kernels can write from index 0
 * @throws NormkitError `E_SHAPE` when `out` has another shape, is not row-major contiguous, or
 *   overlaps an input's memory; `E_DTYPE` when its dtype differs
 */
export function outputTensor(out: Tensor | undefined, shape: Shape, dtype: Dtype, name: string, inputs: readonly Tensor[] = []): Tensor {
  if (out === undefined) return tensor(new (arrayTypeOf(dtype))(sizeOf(shape)), shape);
  const t = assertTensor(out, name, { shape, dtype });
  if (!isContiguous(t)) {
    throw new NormkitError('E_SHAPE', `${name}: expected a row-major contiguous tensor of shape ${formatShape(shape)}, got strides ${formatShape(t.stride)}`, name);
  }
  const [outStart, outEnd] = byteRange(t);
  for (const input of inputs) {
    if (input.data.buffer !== t.data.buffer) continue;
    const [start, end] = byteRange(input);
    if (start < outEnd && outStart < end) {
      throw new NormkitError('E_SHAPE', `${name}: expected memory of its own, got memory that overlaps an input it would overwrite`, name);
    }
  }
  if (t.offset === 0 && t.data.length === sizeOf(shape)) return t;
  // Kernels write from index 0 of the data they are given: hand them a view that starts at the offset.
  const size = sizeOf(shape);
  return tensor(t.data.subarray(t.offset, t.offset + size), shape);
}

/**
 * The half-open byte range `[start, end)` of the buffer that a tensor's elements occupy
 * (from its lowest to its highest addressed element), for overlap checks between views of
 * one `ArrayBuffer` (e.g. tensors of one wasm memory pool).
 *
 * @param t - the tensor (any strides, including negative)
 * @returns `[start, end)` in bytes from the start of `t.data.buffer`
 */
export function byteRange(t: Tensor): [number, number] {
  let low = t.offset;
  let high = t.offset;
  for (let k = 0; k < t.shape.length; k++) {
    const span = t.stride[k] * (t.shape[k] - 1);
    if (span < 0) low += span;
    else high += span;
  }
  const bytes = t.data.BYTES_PER_ELEMENT;
  return [t.data.byteOffset + low * bytes, t.data.byteOffset + (high + 1) * bytes];
}
