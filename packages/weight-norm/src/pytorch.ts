import { NormkitError, formatShape, shapesEqual, tensorToJSON } from '@normkit/core';
import type { PyTorchNames, Tensor, TensorJSON } from '@normkit/core';
import { gShapeOf, resolveWeightNormOptions } from './options.js';
import type { WeightNormTypes } from './plugin.js';
import type { LoadedFromPyTorch, PyTorchLoadOptions, PyTorchNaming } from './state-dict.js';
import { checkDict, checkDtype, checkObject, checkUnknown, detectStyle, pytorchKeys, readEntry, stateTensor } from './state-dict.js';


const PARAMETRIZATIONS_G = pytorchKeys('parametrizations').g;
const LEGACY_G = pytorchKeys('legacy').g;

/**
 * Weight norm's PyTorch names: the `weight_norm` cases of the PyTorch test vectors, whose
 * input, output and gradients are `v`, `w`, `dw`, `dv` (and `g`, `dg`), and whose options give
 * `dim` (`null` for PyTorch's `dim=None`) with `v`'s shape; and the state-dict key of `g` in
 * both of PyTorch's styles (the same names {@link pytorchKeys} gives):
 * `parametrizations.weight.original0` (`torch.nn.utils.parametrizations.weight_norm`, the
 * default) and `weight_g` (legacy `torch.nn.utils.weight_norm`). `layer.stateDict({ names:
 * 'pytorch' })` writes `g` under them and `loadStateDict` detects the style; `v`, the layer's
 * input, is yours to save (as `parametrizations.weight.original1` or `weight_v`; see
 * {@link toPyTorchStateDict} for both at once).
 */
export const weightNormPyTorch: PyTorchNames<WeightNormTypes> = {
  layer: 'weight_norm',
  stateDict: { g: PARAMETRIZATIONS_G },
  stateDictStyles: { parametrizations: { g: PARAMETRIZATIONS_G }, legacy: { g: LEGACY_G } },
  vectors: { input: 'v', output: 'w', upstream: 'dw', inputGrad: 'dv' },
  options: (caseOptions, inputShapes) => ({ dim: caseOptions.dim as number | null, shape: inputShapes.v }),
};

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
  checkObject(params, 'params', '{ v, g }', 'E_STATE');
  checkObject(options, 'options', '{ style?, prefix?, name?, dim? }');
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

/**
 * Reads the weight-norm parameters from a PyTorch state dict (either naming style), in JSON
 * or as tensors (the `tensors` of `readSafetensors` from `@normkit/io`); entries are copied.
 *
 * @param dict - entry name → `{shape, data}` or a float32/float64 tensor, e.g. parsed from
 *   `json.dump({k: {'shape': list(t.shape), 'data': t.flatten().tolist()} for k, t in m.state_dict().items()})`
 * @param options - `shape`, `dim`, `dtype`, `style`, `prefix`, `name`, `ignoreUnknown`
 * @returns `{ params: { v, g }, style }`, `g` in PyTorch's shape (which is normkit's)
 * @throws NormkitError `E_STATE` for a missing, unexpected, malformed or misshapen entry, or
 *   both naming styles at once; `E_NONFINITE` for NaN or ±Infinity in an entry; `E_OPTION` for bad options
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
  checkObject(options, 'options', '{ shape?, dim?, dtype?, style?, prefix?, name?, ignoreUnknown? }');
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

