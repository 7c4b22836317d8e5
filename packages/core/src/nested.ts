import { NormkitError, describeValue } from './errors.js';
import type { Tensor } from './tensor.js';
import { assertTensor } from './tensor.js';

/**
 * Plain numbers nested as arrays, one level per axis: `5` (0-d), `[1, 2, 3]`,
 * `[[1, 2], [3, 4]]`, … What {@link tensor} accepts; rectangular (every row of a level the
 * same length).
 */
export type NestedNumbers = number | readonly NestedNumbers[];

/**
 * What {@link toArray} returns: a number for a 0-d tensor, else arrays nested one level per
 * axis. Cast to the rank you know (`toArray(t) as number[][]`).
 */
export type NestedArray = number | NestedArray[];

/** What {@link flattenNested} returns. */
export interface FlattenedNested {
  /** The size of each nesting level, outermost first. */
  shape: number[];
  /** The numbers, in row-major order. */
  flat: number[];
}

/**
 * The shape of rectangular nested arrays, and their numbers in row-major order.
 *
 * @param values - a number, or nested arrays of numbers
 * @param name - the argument name, for messages
 * @returns the shape (one size per nesting level) and the numbers, flattened
 * @throws NormkitError `E_SHAPE` for ragged arrays (rows of different lengths, or a number
 *   where a row is expected); `E_DTYPE` for an entry that is not a number (a string, a
 *   boolean, a typed array inside the nesting)
 */
export function flattenNested(values: NestedNumbers, name: string): FlattenedNested {
  const shape: number[] = [];
  for (let level: unknown = values; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const flat: number[] = [];
  const walk = (value: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof value !== 'number') {
        const problem = Array.isArray(value) ? 'E_SHAPE' : 'E_DTYPE';
        const what = Array.isArray(value) ? `an array (ragged: expected ${shape.length} levels of nesting)` : describeValue(value);
        throw new NormkitError(problem, `${path}: expected a number, got ${what}`, name);
      }
      flat.push(value);
      return;
    }
    if (!Array.isArray(value)) {
      throw new NormkitError('E_SHAPE', `${path}: expected an array of ${shape[depth]} (ragged nested array), got ${describeValue(value)}`, name);
    }
    if (value.length !== shape[depth]) {
      throw new NormkitError('E_SHAPE', `${path}: expected ${shape[depth]} entries like its first sibling (ragged nested array), got ${value.length}`, name);
    }
    for (let i = 0; i < value.length; i++) walk(value[i], depth + 1, `${path}[${i}]`);
  };
  walk(values, 0, name);
  return { shape, flat };
}

/**
 * A tensor's values as plain nested arrays, one level per axis (a number for a 0-d tensor):
 * the inverse of {@link tensor} on nested arrays. Works on any ndarray tensor, any strides
 * and offset (a `pick`ed, sliced or transposed view included), and copies.
 *
 * @param t - the tensor
 * @returns nested arrays of numbers, e.g. `[[1, 2], [3, 4]]`
 * @example
 * ```ts
 * toArray(tensor([[1, 2], [3, 4]])); // [[1, 2], [3, 4]]
 * toArray(tensor([[1, 2], [3, 4]]).transpose(1, 0)); // [[1, 3], [2, 4]]
 * ```
 */
export function toArray(t: Tensor): NestedArray {
  const { data, shape, stride } = assertTensor(t, 't', { allowEmpty: true });
  const build = (depth: number, p: number): NestedArray => {
    if (depth === shape.length) return data[p];
    const row = new Array<NestedArray>(shape[depth]);
    for (let i = 0; i < shape[depth]; i++) row[i] = build(depth + 1, p + i * stride[depth]);
    return row;
  };
  return build(0, t.offset);
}

