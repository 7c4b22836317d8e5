import type { Tensor } from '@normkit/core';
import { NormkitError, assertTensor, describeValue, dtypeOf, toTypedArray } from '@normkit/core';
import { float32Text, float64Text } from './float-text.js';
import { STATE_DICT_JSON_FORMAT, STATE_DICT_JSON_VERSION } from './state-dict-json-format.js';

/**
 * Writes a state dict as a normkit JSON state dict ({@link StateDictJSONDocument}): a format
 * marker and version, then per entry its dtype, shape and row-major values, exact for
 * float64 and float32 (shortest round-trip decimals, `-0`, and `"NaN"` / `"Infinity"` /
 * `"-Infinity"` as strings). Entries keep `sd`'s key order, one per line.
 *
 * `JSON.stringify(layer.stateDict())` writes ndarray internals that no reader turns back into
 * tensors; this format is the one {@link stateDictFromJSON} reads.
 *
 * @param sd - name → float tensor (any strides; 0-d and empty tensors allowed)
 * @returns the JSON text, ending in a newline
 * @throws NormkitError `E_STATE` when `sd` is not an object; `E_DTYPE` / `E_SHAPE` for an
 *   entry that is not a float tensor whose strides fit its buffer
 * @example
 * ```ts
 * writeFileSync('bn.json', stateDictToJSON(bn.stateDict()));
 * bn2.loadStateDict(stateDictFromJSON(readFileSync('bn.json', 'utf8')));
 * ```
 */
export function stateDictToJSON(sd: Record<string, Tensor>): string {
  if (typeof sd !== 'object' || sd === null || Array.isArray(sd)) {
    throw new NormkitError('E_STATE', `sd: expected an object of tensors, got ${describeValue(sd)}`, 'sd');
  }
  const lines: string[] = [];
  for (const name of Object.keys(sd)) {
    const t = assertTensor(sd[name], `sd.${name}`, { allowEmpty: true });
    const dtype = dtypeOf(t);
    const values = toTypedArray(t);
    const format = dtype === 'float32' ? float32Text : float64Text;
    const data = new Array<string>(values.length);
    for (let i = 0; i < values.length; i++) data[i] = format(values[i]);
    lines.push(`    ${JSON.stringify(name)}: {"dtype": "${dtype}", "shape": [${t.shape.join(', ')}], "data": [${data.join(', ')}]}`);
  }
  const tensors = lines.length === 0 ? '{}' : `{\n${lines.join(',\n')}\n  }`;
  return `{\n  "format": "${STATE_DICT_JSON_FORMAT}",\n  "version": ${STATE_DICT_JSON_VERSION},\n  "tensors": ${tensors}\n}\n`;
}
