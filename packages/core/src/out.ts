import { NormkitError } from './errors.js';
import type { Dtype, Shape, Tensor } from './tensor.js';
import { arrayTypeOf, assertTensor, dtypeOf, formatShape, isContiguous, sizeOf, tensor } from './tensor.js';

/**
 * The output tensor of a kernel: `out` when the caller preallocated one (checked), else a
 * new row-major tensor.
 *
 * @param out - the caller's buffer, or `undefined`
 * @param shape - the output shape
 * @param dtype - the output dtype
 * @param name - the argument name, for messages (e.g. `"out"`)
 * @param inputs - tensors `out` must not overlap (it would be overwritten while they are read)
 * @throws NormkitError `E_SHAPE` when `out` has another shape, is not row-major contiguous, or
 *   shares its buffer with an input; `E_DTYPE` when its dtype differs
 */
export function outputTensor(out: Tensor | undefined, shape: Shape, dtype: Dtype, name: string, inputs: readonly Tensor[] = []): Tensor {
  if (out === undefined) return tensor(new (arrayTypeOf(dtype))(sizeOf(shape)), shape);
  const t = assertTensor(out, name, { shape, dtype });
  if (!isContiguous(t)) {
    throw new NormkitError('E_SHAPE', `${name}: expected a row-major contiguous tensor of shape ${formatShape(shape)}, got strides ${formatShape(t.stride)}`, name);
  }
  for (const input of inputs) {
    if (input.data.buffer === t.data.buffer && dtypeOf(input) === dtypeOf(t)) {
      throw new NormkitError('E_SHAPE', `${name}: expected a buffer of its own, got one shared with an input it would overwrite`, name);
    }
  }
  return t;
}
