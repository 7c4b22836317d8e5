import type { Tensor } from './tensor.js';

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
