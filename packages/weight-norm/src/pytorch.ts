import { NormkitError, assertTensor, describeValue, formatShape, isNormkitError, shapesEqual, tensor, tensorFromJSON, tensorToJSON } from '@normkit/core';
import type { Dtype, Tensor, TensorJSON } from '@normkit/core';
import { gShapeOf, resolveWeightNormOptions } from './options.js';
import type { WeightNormLinearInputOptions, WeightNormLinearParams } from './weight-norm-linear.js';
import { resolveWeightNormLinearOptions } from './weight-norm-linear.js';

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

/** A tensor argument of a converter: any NormkitError about it becomes `E_STATE`. */
function stateTensor(value: unknown, name: string): Tensor {
  try {
    return assertTensor(value, name);
  } catch (e) {
    if (isNormkitError(e)) throw new NormkitError('E_STATE', e.message, name);
    throw e;
  }
}

function checkDict(dict: unknown): Readonly<Record<string, unknown>> {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new NormkitError('E_STATE', `state dict: expected an object of {shape, data} entries, got ${describeValue(dict)}`, 'dict');
  }
  return dict as Readonly<Record<string, unknown>>;
}

function detectStyle(dict: Readonly<Record<string, unknown>>, naming: PyTorchNaming): PyTorchStyle {
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

function checkUnknown(dict: Readonly<Record<string, unknown>>, expected: readonly string[], ignoreUnknown: boolean): void {
  if (ignoreUnknown) return;
  for (const key of Object.keys(dict)) {
    if (!expected.includes(key)) {
      throw new NormkitError('E_STATE', `state dict: unexpected entry ${JSON.stringify(key)}; expected only ${expected.join(', ')}`, key);
    }
  }
}

function readEntry(dict: Readonly<Record<string, unknown>>, key: string, shape: readonly number[] | null, dtype: Dtype): Tensor {
  if (!Object.hasOwn(dict, key)) {
    throw new NormkitError('E_STATE', `state dict: missing entry ${JSON.stringify(key)}`, key);
  }
  const t = tensorFromJSON(dict[key], dtype, key);
  if (shape !== null && !shapesEqual(t.shape, shape)) {
    throw new NormkitError('E_STATE', `state dict: ${key} expected shape ${formatShape(shape)}, got ${formatShape(t.shape)}`, key);
  }
  return t;
}

function checkDtype(dtype: unknown): Dtype {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new NormkitError('E_OPTION', `dtype: expected 'float32' or 'float64', got ${describeValue(dtype)}`, 'dtype');
  }
  return dtype;
}

/** Options of {@link toPyTorchStateDict}. */
export interface ToPyTorchOptions extends PyTorchNaming {
  /** The `dim` the parameters were made with (default 0; `null` = whole tensor). Checks `g`'s shape. */
  readonly dim?: number | null;
}

/**
 * The weight-norm parameters `{v, g}` as a PyTorch state dict in JSON, `g` first (PyTorch's order).
 *
 * @param params - `v` and `g`, with `g` in PyTorch's shape for `dim`
 * @param options - `style` (default `'parametrizations'`), `prefix`, `name`, `dim`
 * @returns entry name → `{shape, data}`
 * @throws NormkitError `E_STATE` for a missing or non-float tensor or a `g` whose shape does not
 *   fit `v` and `dim`; `E_OPTION` for a bad `dim` or `style`
 */
export function toPyTorchStateDict(params: { readonly v?: Tensor; readonly g?: Tensor }, options: ToPyTorchOptions = {}): Record<string, TensorJSON> {
  const v = stateTensor(params.v, 'v');
  const g = stateTensor(params.g, 'g');
  const resolved = resolveWeightNormOptions({ shape: v.shape, dim: options.dim });
  const gShape = gShapeOf(resolved);
  if (!shapesEqual(g.shape, gShape)) {
    throw new NormkitError('E_STATE', `g: expected shape ${formatShape(gShape)} for v of shape ${formatShape(v.shape)} and dim ${resolved.dim}, got ${formatShape(g.shape)}`, 'g');
  }
  const style = detectStyle({}, { ...options, style: options.style ?? 'parametrizations' });
  const keys = pytorchKeys(style, options);
  return { [keys.g]: tensorToJSON(g), [keys.v]: tensorToJSON(v) };
}

/** Options of {@link fromPyTorchStateDict}. */
export interface FromPyTorchOptions extends PyTorchLoadOptions {
  /** The expected shape of `v` (default: whatever the `v` entry has). */
  readonly shape?: number | readonly number[];
  /** The `dim` PyTorch used (default 0; `null` for `dim=None`). */
  readonly dim?: number | null;
}

/** What the loaders return: the parameters in normkit's names, and the style found. */
export interface LoadedFromPyTorch<P> {
  /** The parameters, normkit-named and shaped. */
  readonly params: P;
  /** The naming style of the dict (pass it back to save with the same names). */
  readonly style: PyTorchStyle;
}

/**
 * Reads the weight-norm parameters from a PyTorch state dict in JSON (either naming style).
 *
 * @param dict - entry name → `{shape, data}`, e.g. parsed from
 *   `json.dump({k: {'shape': list(t.shape), 'data': t.flatten().tolist()} for k, t in m.state_dict().items()})`
 * @param options - `shape`, `dim`, `dtype`, `style`, `prefix`, `name`, `ignoreUnknown`
 * @returns `{ params: { v, g }, style }`, `g` in PyTorch's shape (which is normkit's)
 * @throws NormkitError `E_STATE` for a missing, unexpected, malformed or misshapen entry, or
 *   both naming styles at once; `E_OPTION` for bad options
 */
export function fromPyTorchStateDict(
  dict: unknown,
  options: FromPyTorchOptions = {},
): LoadedFromPyTorch<{
  /** The direction, shaped as the `v` entry (and `options.shape`). */
  v: Tensor;
  /** The magnitude, in PyTorch's shape for `dim`. */
  g: Tensor;
}> {
  const entries = checkDict(dict);
  const dtype = checkDtype(options.dtype ?? 'float32');
  const style = detectStyle(entries, options);
  const keys = pytorchKeys(style, options);
  checkUnknown(entries, [keys.g, keys.v], options.ignoreUnknown === true);
  const v0 = readEntry(entries, keys.v, null, dtype);
  const resolved = resolveWeightNormOptions({ shape: options.shape ?? v0.shape, dim: options.dim });
  if (!shapesEqual(v0.shape, resolved.shape)) {
    throw new NormkitError('E_STATE', `state dict: ${keys.v} expected shape ${formatShape(resolved.shape)}, got ${formatShape(v0.shape)}`, keys.v);
  }
  const g = readEntry(entries, keys.g, gShapeOf(resolved), dtype);
  return { params: { v: v0, g }, style };
}

/**
 * The parameters of a {@link WeightNormLinear} as the state dict of a PyTorch
 * `nn.Linear(in, out)` under `weight_norm(dim=0)`: `bias` (when present), then `g` as
 * `(out, 1)`, then `v`, in PyTorch's order.
 *
 * @param params - `v (out, in)`, `g (out)`, and `bias (out)` when the layer has one
 * @param options - `style` (default `'parametrizations'`), `prefix`, `name`
 * @returns entry name → `{shape, data}`
 * @throws NormkitError `E_STATE` for a missing, non-float or misshapen parameter; `E_OPTION`
 *   for a `style` other than `'legacy'` / `'parametrizations'`
 */
export function linearToPyTorchStateDict(params: WeightNormLinearParams, options: PyTorchNaming = {}): Record<string, TensorJSON> {
  const v = stateTensor(params.v, 'v');
  if (v.shape.length !== 2) {
    throw new NormkitError('E_STATE', `v: expected shape (out, in), got ${formatShape(v.shape)}`, 'v');
  }
  const [outFeatures] = v.shape;
  const g = stateTensor(params.g, 'g');
  if (!shapesEqual(g.shape, [outFeatures])) {
    throw new NormkitError('E_STATE', `g: expected shape ${formatShape([outFeatures])}, got ${formatShape(g.shape)}`, 'g');
  }
  const bias = params.bias === undefined ? null : stateTensor(params.bias, 'bias');
  if (bias !== null && !shapesEqual(bias.shape, [outFeatures])) {
    throw new NormkitError('E_STATE', `bias: expected shape ${formatShape([outFeatures])}, got ${formatShape(bias.shape)}`, 'bias');
  }
  const style = detectStyle({}, { ...options, style: options.style ?? 'parametrizations' });
  const keys = pytorchKeys(style, options);
  const gJSON = tensorToJSON(g);
  const out: Record<string, TensorJSON> = {};
  if (bias !== null) out[keys.bias] = tensorToJSON(bias);
  out[keys.g] = { shape: [outFeatures, 1], data: gJSON.data };
  out[keys.v] = tensorToJSON(v);
  return out;
}

/** Options of {@link linearFromPyTorchStateDict}. */
export type LinearFromPyTorchOptions = PyTorchLoadOptions & Pick<WeightNormLinearInputOptions, 'inFeatures' | 'outFeatures' | 'bias'>;

/**
 * Reads the parameters of a {@link WeightNormLinear} from the state dict of a PyTorch
 * `nn.Linear` under `weight_norm(dim=0)` (either naming style); PyTorch's `g (out, 1)`
 * becomes `g (out)`.
 *
 * @param dict - entry name → `{shape, data}`
 * @param options - `inFeatures`, `outFeatures`, `bias` (default true), `dtype`, `style`, `prefix`, `name`, `ignoreUnknown`
 * @returns `{ params: { v, g, bias? }, style }`, ready for `layer.loadStateDict(params)`
 * @throws NormkitError `E_STATE` for a missing, unexpected, malformed or misshapen entry;
 *   `E_OPTION` for bad options
 */
export function linearFromPyTorchStateDict(dict: unknown, options: LinearFromPyTorchOptions): LoadedFromPyTorch<WeightNormLinearParams> {
  const entries = checkDict(dict);
  const resolved = resolveWeightNormLinearOptions({ inFeatures: options.inFeatures, outFeatures: options.outFeatures, bias: options.bias });
  const { inFeatures, outFeatures } = resolved;
  const dtype = checkDtype(options.dtype ?? 'float32');
  const style = detectStyle(entries, options);
  const keys = pytorchKeys(style, options);
  checkUnknown(entries, resolved.bias ? [keys.bias, keys.g, keys.v] : [keys.g, keys.v], options.ignoreUnknown === true);
  const v = readEntry(entries, keys.v, [outFeatures, inFeatures], dtype);
  const g = tensor(readEntry(entries, keys.g, [outFeatures, 1], dtype).data, [outFeatures]);
  const params: WeightNormLinearParams = resolved.bias ? { bias: readEntry(entries, keys.bias, [outFeatures], dtype), g, v } : { g, v };
  return { params, style };
}
