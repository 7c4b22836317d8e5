import { NormkitError, assertTensor, describeValue, elementAt, firstNonFinite, formatShape, isNormkitError, isTensor, shapesEqual, tensorFromJSON, toContiguous } from '@normkit/core';
import type { Dtype, Shape, Tensor, TensorJSON } from '@normkit/core';

/**
 * PyTorch's two ways of naming a weight-normalized parameter `weight` of a module:
 *
 * - `'legacy'`: `torch.nn.utils.weight_norm` → `weight_g` (g) and `weight_v` (v);
 * - `'parametrizations'`: `torch.nn.utils.parametrizations.weight_norm` →
 *   `parametrizations.weight.original0` (g) and `parametrizations.weight.original1` (v).
 */
export type PyTorchStyle = 'legacy' | 'parametrizations';

/** A PyTorch state dict as JSON: entry name → `{shape, data}`. */
export type PyTorchStateDict = Readonly<Record<string, TensorJSON>>;

/** How entries are named. */
export interface PyTorchNaming {
  /**
   * The naming style. Saving: default `'parametrizations'` (current PyTorch). Loading:
   * detected from the names when left out.
   */
  readonly style?: PyTorchStyle;
  /**
   * The module's prefix in a larger state dict, e.g. `'encoder.fc1'` (a trailing `.` is
   * added when missing). Default `''`.
   */
  readonly prefix?: string;
  /** The parametrized tensor's name in its module (default `'weight'`). */
  readonly name?: string;
}

/** Options of the loaders beyond the naming. */
export interface PyTorchLoadOptions extends PyTorchNaming {
  /** The dtype of the loaded tensors (default `'float32'`, PyTorch's and `Layer`'s default). */
  readonly dtype?: Dtype;
  /**
   * Ignore entries that belong to nothing loaded here (e.g. the rest of a model's state
   * dict). Default false: any such entry is an `E_STATE` error.
   */
  readonly ignoreUnknown?: boolean;
}

/** The entry names of one weight-normalized parameter (and of its module's bias). */
export interface PyTorchKeys {
  /** The magnitude. */
  readonly g: string;
  /** The direction. */
  readonly v: string;
  /** The module's bias. */
  readonly bias: string;
}

/**
 * The PyTorch entry names for a style, prefix and parameter name.
 *
 * @param style - `'legacy'` (`weight_g` / `weight_v`) or `'parametrizations'` (`original0` / `original1`)
 * @param naming - `prefix` (default `''`) and `name` (default `'weight'`); `style` is ignored here
 * @returns the names of `g`, `v` and the module's bias
 *
 * @example
 * ```ts
 * pytorchKeys('legacy', { prefix: 'fc1' });          // { g: 'fc1.weight_g', v: 'fc1.weight_v', bias: 'fc1.bias' }
 * pytorchKeys('parametrizations');                   // { g: 'parametrizations.weight.original0', ... }
 * ```
 */
export function pytorchKeys(style: PyTorchStyle, naming: PyTorchNaming = {}): PyTorchKeys {
  const raw = naming.prefix ?? '';
  const prefix = raw === '' || raw.endsWith('.') ? raw : `${raw}.`;
  const name = naming.name ?? 'weight';
  return style === 'legacy'
    ? { g: `${prefix}${name}_g`, v: `${prefix}${name}_v`, bias: `${prefix}bias` }
    : { g: `${prefix}parametrizations.${name}.original0`, v: `${prefix}parametrizations.${name}.original1`, bias: `${prefix}bias` };
}

/**
 * A tensor argument of a converter, checked: any `NormkitError` about it becomes `E_STATE`.
 *
 * @param value - what came
 * @param name - its name, for the message
 * @returns the tensor
 * @throws NormkitError `E_STATE` for anything but a non-empty float tensor
 */
export function stateTensor(value: unknown, name: string): Tensor {
  try {
    return assertTensor(value, name);
  } catch (e) {
    if (isNormkitError(e)) throw new NormkitError('E_STATE', e.message, name);
    throw e;
  }
}

/**
 * A state dict argument, checked to be a plain object.
 *
 * @param dict - what came
 * @returns it, typed as a record
 * @throws NormkitError `E_STATE` for anything else
 */
export function checkDict(dict: unknown): Readonly<Record<string, unknown>> {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new NormkitError('E_STATE', `state dict: expected an object of {shape, data} entries or tensors, got ${describeValue(dict)}`, 'dict');
  }
  return dict as Readonly<Record<string, unknown>>;
}

/**
 * An options (or params) argument, checked to be an object; `undefined` gives `{}` when allowed.
 *
 * @param value - what came
 * @param name - the argument, for the message (`options`, `params`)
 * @param expected - what it should hold, for the message (`{ style?, prefix?, name? }`)
 * @param code - `E_OPTION` for options, `E_STATE` for parameters
 * @returns it, typed as a record
 * @throws NormkitError with `code` for anything but a plain object
 */
export function checkObject<T extends object>(value: unknown, name: string, expected: string, code: 'E_OPTION' | 'E_STATE' = 'E_OPTION'): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NormkitError(code, `${name}: expected an object ${expected}, got ${describeValue(value)}`, name);
  }
  return value as T;
}

/**
 * The naming style of a state dict: `naming.style` when given (checked), else the one whose
 * `g` or `v` entry is present.
 *
 * @param dict - the state dict (empty to just check `naming.style`)
 * @param naming - style, prefix and name
 * @returns the style
 * @throws NormkitError `E_OPTION` for a bad `style`; `E_STATE` when both styles or neither are present
 */
export function detectStyle(dict: Readonly<Record<string, unknown>>, naming: PyTorchNaming): PyTorchStyle {
  if (naming.style !== undefined) {
    if (naming.style !== 'legacy' && naming.style !== 'parametrizations') {
      throw new NormkitError('E_OPTION', `style: expected 'legacy' or 'parametrizations', got ${describeValue(naming.style)}`, 'style');
    }
    return naming.style;
  }
  const legacy = pytorchKeys('legacy', naming);
  const modern = pytorchKeys('parametrizations', naming);
  const hasLegacy = Object.hasOwn(dict, legacy.g) || Object.hasOwn(dict, legacy.v);
  const hasModern = Object.hasOwn(dict, modern.g) || Object.hasOwn(dict, modern.v);
  if (hasLegacy && hasModern) {
    throw new NormkitError('E_STATE', `state dict: has both ${legacy.g}/${legacy.v} and ${modern.g}/${modern.v}; expected one naming style`, legacy.g);
  }
  if (!hasLegacy && !hasModern) {
    throw new NormkitError('E_STATE', `state dict: missing entries; expected ${legacy.g} and ${legacy.v}, or ${modern.g} and ${modern.v}`, modern.g);
  }
  return hasLegacy ? 'legacy' : 'parametrizations';
}

/**
 * Refuses entries that nothing here loads, unless told to ignore them.
 *
 * @param dict - the state dict
 * @param expected - the names that are loaded
 * @param ignoreUnknown - skip the check
 * @throws NormkitError `E_STATE` naming the first unexpected entry
 */
export function checkUnknown(dict: Readonly<Record<string, unknown>>, expected: readonly string[], ignoreUnknown: boolean): void {
  if (ignoreUnknown) return;
  for (const key of Object.keys(dict)) {
    if (!expected.includes(key)) {
      throw new NormkitError('E_STATE', `state dict: unexpected entry ${JSON.stringify(key)}; expected only ${expected.join(', ')}`, key);
    }
  }
}

/**
 * One entry of a state dict as a tensor: either `{shape, data}` JSON or a float32/float64
 * tensor (what `readSafetensors` of `@normkit/io` returns), copied in both cases.
 *
 * @param dict - the state dict
 * @param key - the entry's name
 * @param shape - the shape it must have, or `null` for any
 * @param dtype - the dtype to load it in
 * @returns a new row-major tensor
 * @throws NormkitError `E_STATE` for a missing, malformed or misshapen entry; `E_NONFINITE` for
 *   NaN or ±Infinity (or a value `dtype` cannot hold)
 */
export function readEntry(dict: Readonly<Record<string, unknown>>, key: string, shape: Shape | null, dtype: Dtype): Tensor {
  if (!Object.hasOwn(dict, key)) {
    throw new NormkitError('E_STATE', `state dict: missing entry ${JSON.stringify(key)}`, key);
  }
  const entry = dict[key];
  const t = isTensor(entry) ? tensorEntry(entry, dtype, key) : tensorFromJSON(entry, dtype, key);
  if (shape !== null && !shapesEqual(t.shape, shape)) {
    throw new NormkitError('E_STATE', `state dict: ${key} expected shape ${formatShape(shape)}, got ${formatShape(t.shape)}`, key);
  }
  // As Layer.loadStateDict would: a parameter that is NaN or ±Infinity (or overflowed the dtype) is refused here, by its key.
  const bad = firstNonFinite(t);
  if (bad !== null) {
    // Say whether the file holds a non-finite value or one the dtype cannot hold (1e39 read as float32).
    const stored = isTensor(entry) ? elementAt(entry, bad) : storedValue(entry, bad, t.shape);
    const what = Number.isFinite(stored) ? `${stored}, more than ${dtype} holds (load it with dtype: 'float64')` : `${stored}`;
    throw new NormkitError('E_NONFINITE', `state dict: ${key} expected finite ${dtype} values, got ${what} at [${bad.join(', ')}]`, key);
  }
  return t;
}

/** The value a `{shape, data}` JSON entry stores at a multi-index (row-major), as a number. */
function storedValue(entry: unknown, index: readonly number[], shape: Shape): number {
  const data = (entry as { data?: unknown }).data;
  let flat = 0;
  for (let k = 0; k < shape.length; k++) flat = flat * shape[k] + index[k];
  const value = Array.isArray(data) ? data[flat] : undefined;
  return typeof value === 'number' ? value : Number.NaN;
}

/**
 * The `dtype` option of a loader, checked.
 *
 * @param dtype - what came
 * @returns `'float32'` or `'float64'`
 * @throws NormkitError `E_OPTION` for anything else
 */
export function checkDtype(dtype: unknown): Dtype {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new NormkitError('E_OPTION', `dtype: expected 'float32' or 'float64', got ${describeValue(dtype)}`, 'dtype');
  }
  return dtype;
}

/** What the loaders return: the parameters in normkit's names, and the style found. */
export interface LoadedFromPyTorch<P> {
  /** The parameters, normkit-named and shaped. */
  readonly params: P;
  /** The naming style of the dict (pass it back to save with the same names). */
  readonly style: PyTorchStyle;
}

/**
 * A tensor entry of a state dict, copied into a new row-major tensor of `dtype`.
 *
 * @param entry - the entry (structurally a tensor)
 * @param dtype - the dtype to load it in
 * @param key - the entry's name, for messages
 * @throws NormkitError `E_STATE` when its strides leave its buffer (the message names the entry)
 */
function tensorEntry(entry: Tensor, dtype: Dtype, key: string): Tensor {
  try {
    assertTensor(entry, key, { allowEmpty: true });
  } catch (error) {
    if (isNormkitError(error)) throw new NormkitError('E_STATE', `state dict: ${error.message}`, key);
    throw error;
  }
  return toContiguous(entry, dtype);
}
