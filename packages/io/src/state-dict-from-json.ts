import type { Tensor } from '@normkit/core';
import { arrayTypeOf, describeValue, tensor } from '@normkit/core';
import { findDuplicateKey } from './duplicate-keys.js';
import { elementValue } from './float-text.js';
import { formatError } from './format-error.js';
import { setOwnEntry } from './own-entries.js';
import { describeList, shapeProblem } from './shape-check.js';
import { STATE_DICT_JSON_FORMAT, STATE_DICT_JSON_VERSION } from './state-dict-json-format.js';

const DOCUMENT_KEYS = ['format', 'version', 'tensors'];
const ENTRY_KEYS = ['dtype', 'shape', 'data'];

/**
 * Reads a normkit JSON state dict ({@link StateDictJSONDocument}, as {@link stateDictToJSON}
 * writes it) back into tensors: each a new row-major tensor of its stored dtype with exactly
 * the values written.
 *
 * Everything is checked before anything is returned: the text is JSON with no repeated key,
 * the `format` marker and `version` are this package's, only known fields appear, every
 * shape is a list of non-negative integers, and every `data` holds Π shape elements that are
 * finite numbers or `"NaN"`, `"Infinity"`, `"-Infinity"` (a float32 entry's numbers must not
 * round to ±Infinity).
 *
 * @param text - the JSON text (a leading UTF-8 byte order mark is skipped)
 * @returns name → tensor, in the document's key order (integer-like names first, as
 *   JavaScript orders object keys)
 * @throws NormkitError `E_FORMAT` naming the first thing wrong
 * @example
 * ```ts
 * const sd = stateDictFromJSON(readFileSync('bn.json', 'utf8'));
 * bn.loadStateDict(sd);
 * ```
 */
export function stateDictFromJSON(text: string): Record<string, Tensor> {
  if (typeof text !== 'string') throw formatError(`text: expected a string, got ${describeValue(text)}`, 'text');
  // A UTF-8 byte order mark (some editors write one; readFileSync keeps it) is not JSON: skip it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw formatError(`text: not valid JSON (${(e as Error).message})`, 'text');
  }
  if (!isPlainObject(parsed)) throw formatError(`text: expected a JSON object, got ${describeValue(parsed)}`, 'text');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw formatError(`text: repeats the key ${JSON.stringify(duplicate)}`, 'text');
  checkFields(parsed, DOCUMENT_KEYS, 'text');
  if (parsed.format !== STATE_DICT_JSON_FORMAT) {
    throw formatError(`text.format: expected ${JSON.stringify(STATE_DICT_JSON_FORMAT)}, got ${describeValue(parsed.format)}`, 'text');
  }
  if (parsed.version !== STATE_DICT_JSON_VERSION) {
    throw formatError(`text.version: expected ${STATE_DICT_JSON_VERSION} (the version this reader knows), got ${describeValue(parsed.version)}`, 'text');
  }
  const entries = parsed.tensors;
  if (!isPlainObject(entries)) throw formatError(`text.tensors: expected an object of entries, got ${describeValue(entries)}`, 'text');
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(entries)) setOwnEntry(out, name, readEntry(name, entries[name]));
  return out;
}

function readEntry(name: string, value: unknown): Tensor {
  const where = `text.tensors[${JSON.stringify(name)}]`;
  if (!isPlainObject(value)) throw formatError(`${where}: expected {dtype, shape, data}, got ${describeValue(value)}`, 'text');
  checkFields(value, ENTRY_KEYS, where);
  const { dtype, shape, data } = value;
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw formatError(`${where}.dtype: expected "float32" or "float64", got ${describeValue(dtype)}`, 'text');
  }
  const problem = shapeProblem(shape);
  if (problem !== undefined) throw formatError(`${where}.shape: ${problem}, got ${describeList(shape, describeValue)}`, 'text');
  const dims = shape as number[];
  let size = 1;
  for (const d of dims) size *= d;
  if (!Array.isArray(data) || data.length !== size) {
    const got = Array.isArray(data) ? `${data.length}` : describeValue(data);
    throw formatError(`${where}.data: shape [${dims.join(', ')}] needs a list of ${size} values, got ${got}`, 'text');
  }
  const values = new (arrayTypeOf(dtype))(size);
  for (let i = 0; i < size; i++) {
    const v = elementValue(data[i]);
    if (v === undefined) {
      throw formatError(`${where}.data[${i}]: expected a finite number or "NaN", "Infinity", "-Infinity", got ${describeValue(data[i])}`, 'text');
    }
    values[i] = v;
    if (!Number.isFinite(values[i]) && Number.isFinite(v)) {
      throw formatError(`${where}.data[${i}]: ${v} is beyond the float32 range`, 'text');
    }
  }
  return tensor(values, dims);
}

function checkFields(record: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) throw formatError(`${where}: unexpected field ${JSON.stringify(key)}; expected only ${keys.join(', ')}`, 'text');
  }
  for (const key of keys) {
    if (!Object.hasOwn(record, key)) throw formatError(`${where}: missing field ${key}`, 'text');
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
