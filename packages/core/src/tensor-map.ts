import { NormkitError, describeValue } from './errors.js';
import type { Shape, Tensor } from './tensor.js';
import { assertTensor } from './tensor.js';

/**
 * Checks a record of named tensors (a plugin's `params` or `state`) against the names
 * and shapes it must have: every expected entry present as a float tensor of its shape,
 * and no other entry.
 *
 * @param value - the record handed in
 * @param expected - name → required shape (from `paramShapes` / `stateShapes`)
 * @param what - `"params"` or `"state"`, for messages
 * @returns the validated tensors by name
 * @throws NormkitError `E_STATE` for a non-object, a missing or an unexpected entry;
 *   `E_DTYPE` / `E_SHAPE` for an entry that is not a float tensor of its shape
 */
export function assertTensorMap(value: unknown, expected: Readonly<Record<string, Shape | undefined>>, what: string): Record<string, Tensor> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NormkitError('E_STATE', `${what}: expected an object of tensors, got ${describeValue(value)}`, what);
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(expected).filter((name) => expected[name] !== undefined);
  for (const key of Object.keys(record)) {
    if (!names.includes(key) && record[key] !== undefined) {
      throw new NormkitError(
        'E_STATE',
        `${what}.${key}: unexpected entry; expected only ${names.length > 0 ? names.join(', ') : '(none)'} for these options`,
        `${what}.${key}`,
      );
    }
  }
  const out: Record<string, Tensor> = {};
  for (const name of names) {
    if (!Object.hasOwn(record, name) || record[name] === undefined) {
      throw new NormkitError('E_STATE', `${what}.${name}: expected a tensor of shape [${(expected[name] as Shape).join(', ')}], got none`, `${what}.${name}`);
    }
    out[name] = assertTensor(record[name], `${what}.${name}`, { shape: expected[name] });
  }
  return out;
}
