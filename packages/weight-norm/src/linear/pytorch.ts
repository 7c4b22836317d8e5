import { NormkitError, formatShape, pickOptions, shapesEqual, tensor, tensorToJSON } from '@normkit/core';
import type { PyTorchNames, TensorJSON } from '@normkit/core';
import type { LoadedFromPyTorch, PyTorchLoadOptions, PyTorchNaming } from '../state-dict.js';
import { checkDict, checkDtype, checkObject, checkUnknown, detectStyle, pytorchKeys, readEntry, stateTensor } from '../state-dict.js';
import type { PyTorchStyle } from '../state-dict.js';
import type { WeightNormLinearInputOptions } from './options.js';
import type { WeightNormLinearTypes } from './plugin.js';
import { resolveWeightNormLinearOptions } from './options.js';
import type { WeightNormLinearParams } from './weight.js';

/** The state-dict keys of a weight-normalized `nn.Linear`'s `v`, `g` and `bias` in one style. */
function linearNames(style: PyTorchStyle): { readonly v: string; readonly g: string; readonly bias: string } {
  const { v, g, bias } = pytorchKeys(style);
  return { v, g, bias };
}

/**
 * The weight-normalized dense layer's PyTorch names: the state dict of an `nn.Linear` under
 * `weight_norm(dim=0)` in both of PyTorch's styles (the names {@link pytorchKeys} gives):
 * `parametrizations.weight.original0/1` (the default) or `weight_g`/`weight_v`, and `bias`;
 * `g` is `(out, 1)` in PyTorch and `(out)` here. `layer.stateDict({ names: 'pytorch' })` and
 * `loadStateDict(dict, { names: 'pytorch' })` use them (the style is detected when loading).
 * No PyTorch test vectors name `weight_norm_linear`.
 */
export const weightNormLinearPyTorch: PyTorchNames<WeightNormLinearTypes> = {
  layer: 'weight_norm_linear',
  stateDict: linearNames('parametrizations'),
  stateDictStyles: { parametrizations: linearNames('parametrizations'), legacy: linearNames('legacy') },
  stateDictShapes: { g: (shape) => [...shape, 1] },
  options: (caseOptions) => pickOptions<WeightNormLinearInputOptions>(caseOptions, ['inFeatures', 'outFeatures', 'bias', 'eps']),
};

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
  checkObject(params, 'params', '{ v, g, bias? }', 'E_STATE');
  checkObject(options, 'options', '{ style?, prefix?, name? }');
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
 * becomes `g (out)`. Entries are JSON or tensors (as {@link fromPyTorchStateDict} takes them).
 *
 * @param dict - entry name → `{shape, data}` or a float32/float64 tensor
 * @param options - `inFeatures`, `outFeatures`, `bias` (default true), `dtype`, `style`, `prefix`, `name`, `ignoreUnknown`
 * @returns `{ params: { v, g, bias? }, style }`, ready for `layer.loadStateDict(params)`
 * @throws NormkitError `E_STATE` for a missing, unexpected, malformed or misshapen entry;
 *   `E_OPTION` for bad options
 */
export function linearFromPyTorchStateDict(dict: unknown, options: LinearFromPyTorchOptions): LoadedFromPyTorch<WeightNormLinearParams> {
  const entries = checkDict(dict);
  checkObject(options, 'options', '{ inFeatures, outFeatures, bias?, dtype?, style?, prefix?, name?, ignoreUnknown? }');
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
