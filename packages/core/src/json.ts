import { NormkitError, describeValue } from './errors.js';
import type { Dtype, Tensor } from './tensor.js';
import { arrayTypeOf, formatShape, sizeOf, tensor, toTypedArray } from './tensor.js';

/**
 * A tensor as plain JSON: its shape and its values in row-major order
 * (the format of the PyTorch test vectors, and of exported state dicts).
 * A 0-d scalar has `shape: []` and one value.
 */
export interface TensorJSON {
  /** The size of each axis. */
  readonly shape: readonly number[];
  /** The values, row-major; `data.length = Π shape`. */
  readonly data: readonly number[];
}

/**
 * A tensor as {@link TensorJSON} (any strides; values copied).
 *
 * @param t - the tensor
 * @returns its shape and its values in row-major order, as plain arrays
 */
export function tensorToJSON(t: Tensor): TensorJSON {
  return { shape: t.shape.slice(), data: Array.from(toTypedArray(t)) };
}

/**
 * A tensor from {@link TensorJSON}, validated.
 *
 * @param json - the parsed value
 * @param dtype - the dtype to store it in
 * @param name - the entry name, for messages
 * @returns a new row-major tensor of `dtype`
 * @throws NormkitError `E_STATE` when the value is not `{shape, data}` of matching length and numbers
 */
export function tensorFromJSON(json: unknown, dtype: Dtype, name: string): Tensor {
  if (typeof json !== 'object' || json === null) {
    throw new NormkitError('E_STATE', `${name}: expected {shape, data}, got ${describeValue(json)}`, name);
  }
  const { shape, data } = json as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || !shape.every((d: unknown) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new NormkitError('E_STATE', `${name}.shape: expected a list of non-negative integers, got ${describeValue(shape)}`, name);
  }
  if (!Array.isArray(data) || !data.every((v: unknown) => typeof v === 'number')) {
    throw new NormkitError('E_STATE', `${name}.data: expected a list of numbers, got ${describeValue(data)}`, name);
  }
  const dims = shape as number[];
  if (data.length !== sizeOf(dims)) {
    throw new NormkitError('E_STATE', `${name}: shape ${formatShape(dims)} needs ${sizeOf(dims)} values, got ${data.length}`, name);
  }
  return tensor(arrayTypeOf(dtype).from(data as number[]), dims);
}
