import { NormkitError, describeValue } from './errors.js';
import { flattenNested } from './nested.js';
import type { NestedNumbers } from './nested.js';
import type { Shape, Tensor } from './tensor.js';
import { isTensor, sizeOf, tensor, toContiguous } from './tensor.js';

/**
 * A TF.js tensor, as `layer.getWeights()` returns them: anything with a `shape` and a
 * `dataSync()` that gives the values in row-major order.
 */
export interface KerasTensorLike {
  /** The sizes, outermost first. */
  readonly shape: readonly number[];
  /** The values, row-major. */
  dataSync(): ArrayLike<number>;
}

/**
 * One Keras weight: nested number arrays (NumPy's `tolist()` of a `get_weights()` array),
 * a `Float32Array` / `Float64Array` (flat, row-major), a normkit tensor, or a TF.js tensor.
 */
export type KerasWeight = NestedNumbers | Float32Array | Float64Array | Tensor | KerasTensorLike;

/** The weights of a layer in `get_weights()` order, with the label each is named by in messages. */
export interface OrderedKerasWeights {
  /** The weights as given, in the order of the names asked for. */
  readonly values: readonly unknown[];
  /** Per weight, `weights[2] (moving_mean)` for a list, or the key the user gave (`'bn/moving_mean:0'`). */
  readonly labels: readonly string[];
}

/** `model/bn/gamma:0` → `['model/bn/', 'gamma']`: the path before the weight's name, and the name without `:0`. */
function splitWeightKey(key: string): [string, string] {
  const cut = key.lastIndexOf('/') + 1;
  return [key.slice(0, cut), key.slice(cut).replace(/:\d+$/, '')];
}

function isTensorLike(value: unknown): value is KerasTensorLike {
  return typeof value === 'object' && value !== null && Array.isArray((value as KerasTensorLike).shape) && typeof (value as KerasTensorLike).dataSync === 'function';
}

/**
 * The weights in `expected` order, from a `get_weights()` list or a record keyed by weight name
 * or path (all keys under one layer's path).
 *
 * @param weights - what came
 * @param expected - Keras's weight names for the config, in `get_weights()` order
 * @param className - for messages
 * @param why - what fixes the order, for messages (`get_weights() order for center=false`)
 * @returns the weights and their labels
 * @throws NormkitError `E_STATE` for a list of another length, an unknown, repeated or missing
 *   name, keys from more than one layer's path, or something that is neither
 */
export function orderedKerasWeights(weights: unknown, expected: readonly string[], className: string, why: string): OrderedKerasWeights {
  if (Array.isArray(weights)) {
    if (weights.length !== expected.length) {
      throw new NormkitError('E_STATE', `keras ${className} weights: expected ${expected.length} arrays (${expected.join(', ')}: ${why}), got ${weights.length}`, 'weights');
    }
    return { values: weights, labels: expected.map((name, i) => `weights[${i}] (${name})`) };
  }
  if (typeof weights !== 'object' || weights === null || isTensor(weights)) {
    throw new NormkitError('E_STATE', `keras ${className} weights: expected the get_weights() list or an object keyed by weight name, got ${describeValue(weights)}`, 'weights');
  }
  const byName = new Map<string, { key: string; value: unknown }>();
  const paths = new Set<string>();
  for (const [key, value] of Object.entries(weights)) {
    const [path, name] = splitWeightKey(key);
    if (!expected.includes(name)) {
      throw new NormkitError('E_STATE', `keras ${className} weights: unexpected weight ${JSON.stringify(key)}; expected ${expected.join(', ')} (${why})`, key);
    }
    if (byName.has(name)) throw new NormkitError('E_STATE', `keras ${className} weights: ${name} is given twice (${JSON.stringify(byName.get(name)?.key)} and ${JSON.stringify(key)})`, key);
    byName.set(name, { key, value });
    paths.add(path);
  }
  if (paths.size > 1) {
    throw new NormkitError('E_STATE', `keras ${className} weights: expected the weights of one layer, got keys under ${[...paths].map((p) => JSON.stringify(p)).join(', ')}`, 'weights');
  }
  const missing = expected.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new NormkitError('E_STATE', `keras ${className} weights: missing ${missing.join(', ')} (${why})`, missing[0]);
  }
  const found = expected.map((n) => byName.get(n) as { key: string; value: unknown });
  return { values: found.map((f) => f.value), labels: found.map((f) => `weights[${JSON.stringify(f.key)}]`) };
}

/**
 * One Keras weight as a new contiguous float64 tensor (a typed array is read flat), values
 * unchecked.
 *
 * @param value - the weight as given
 * @param label - its label, for messages
 * @returns the tensor
 * @throws NormkitError `E_STATE` naming the weight for a value of no known kind, ragged arrays,
 *   a TF.js shape that is not a list of sizes, or `dataSync()` values that do not fill it
 */
export function kerasWeightTensor(value: unknown, label: string): Tensor {
  try {
    if (isTensor(value)) return toContiguous(value, 'float64');
    if (value instanceof Float32Array || value instanceof Float64Array) return tensor(Float64Array.from(value), [value.length]);
    if (isTensorLike(value)) return tensorLikeValues(value);
    if (typeof value === 'number' || Array.isArray(value)) {
      const { shape, flat } = flattenNested(value as NestedNumbers, label);
      return tensor(Float64Array.from(flat), shape);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // flattenNested's messages already start with the weight's label (`weights[0] (beta)[1]: …`).
    throw new NormkitError('E_STATE', `keras ${message.startsWith(label) ? message : `${label}: ${message}`}`, label);
  }
  throw new NormkitError(
    'E_STATE',
    `keras ${label}: expected nested number arrays, a Float32Array / Float64Array, a tensor or a TF.js tensor, got ${describeValue(value)}`,
    label,
  );
}

/** A TF.js tensor's values, checked: a shape of sizes, and as many numbers as it holds. */
function tensorLikeValues(value: KerasTensorLike): Tensor {
  const shape: Shape = [...value.shape];
  if (!shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new NormkitError('E_STATE', `expected shape to be a list of non-negative integers, got [${shape.join(', ')}]`);
  }
  const data: unknown = value.dataSync();
  const length = (data as { length?: unknown } | null)?.length;
  if (typeof length !== 'number' || length !== sizeOf(shape)) {
    throw new NormkitError('E_STATE', `expected dataSync() to give ${sizeOf(shape)} numbers for shape [${shape.join(', ')}], got ${describeValue(data)}`);
  }
  const values = Float64Array.from(data as ArrayLike<unknown>, (v) => (typeof v === 'number' ? v : Number.NaN));
  const bad = Array.from(data as ArrayLike<unknown>).findIndex((v) => typeof v !== 'number');
  if (bad >= 0) throw new NormkitError('E_STATE', `expected dataSync() to give numbers, got ${describeValue((data as ArrayLike<unknown>)[bad])} at ${bad}`);
  return tensor(values, shape);
}
