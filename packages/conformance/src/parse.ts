import { NormkitError } from '@normkit/core';
import type { GoldenArray, GoldenCase, GoldenValue } from './format.js';

const LAYERS = ['batch_norm', 'layer_norm', 'weight_norm', 'group_norm', 'instance_norm', 'rms_norm'];

/** Throws `E_STATE` for a malformed case. */
export function fail(file: string, what: string): never {
  throw new NormkitError('E_STATE', `${file}: malformed case: ${what}`, file);
}

function checkArray(file: string, name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) fail(file, `${name} is not {shape, data}`);
  const { shape, data } = value as Partial<GoldenArray>;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(file, `${name}.shape is not a list of sizes`);
  if (!Array.isArray(data) || !data.every((v) => typeof v === 'number')) fail(file, `${name}.data is not a list of numbers`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) fail(file, `${name} has ${data.length} values for shape [${shape.join(', ')}]`);
}

function checkValues(file: string, group: string, record: unknown): void {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) fail(file, `${group} is not an object`);
  for (const [name, value] of Object.entries(record)) {
    if (Array.isArray(value)) value.forEach((v, i) => checkArray(file, `${group}.${name}[${i}]`, v));
    else checkArray(file, `${group}.${name}`, value as GoldenValue);
  }
}

/**
 * Validates one case, already parsed from its JSON: what {@link loadCase} does after reading
 * the file, with no file system, so it runs in a browser (import the JSON files with your
 * bundler, or fetch them).
 *
 * @param parsed - the value of the case's JSON
 * @param source - where it came from (a file name or URL), for the messages
 * @returns the case
 * @throws NormkitError `E_STATE` when the value is not a case
 * @example
 * ```ts
 * import raw from '@normkit/conformance/vectors/batchnorm-train-4d-001.json' with { type: 'json' };
 * const c = parseCase(raw, 'batchnorm-train-4d-001.json');
 * ```
 */
export function parseCase(parsed: unknown, source: string): GoldenCase {
  const file = source;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(file, 'not a JSON object');
  const c = parsed as Record<string, unknown>;
  if (typeof c.id !== 'string') fail(file, 'id is not a string');
  if (typeof c.layer !== 'string' || !LAYERS.includes(c.layer)) fail(file, `layer ${JSON.stringify(c.layer)} is not one of ${LAYERS.join(', ')}`);
  if (c.mode !== 'train' && c.mode !== 'eval') fail(file, 'mode is not "train" or "eval"');
  if (typeof c.expectError !== 'boolean') fail(file, 'expectError is not a boolean');
  if (typeof c.options !== 'object' || c.options === null) fail(file, 'options is not an object');
  checkValues(file, 'inputs', c.inputs);
  if (!c.expectError) checkValues(file, 'expected', c.expected);
  return parsed as GoldenCase;
}

/**
 * Sorts cases by `id` (the order {@link loadCases} returns them in).
 *
 * @param cases - the cases
 * @returns a new array, sorted by `id`
 */
export function sortCases(cases: readonly GoldenCase[]): GoldenCase[] {
  return [...cases].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
