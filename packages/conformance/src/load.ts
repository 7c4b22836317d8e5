import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NormkitError } from '@normkit/core';
import type { GoldenArray, GoldenCase, GoldenValue } from './format.js';

/** The folder of the PyTorch vectors shipped with this package. */
export const vectorsDir: string = fileURLToPath(new URL('../vectors/', import.meta.url));

const LAYERS = ['batch_norm', 'layer_norm', 'weight_norm', 'group_norm', 'instance_norm', 'rms_norm'];

function fail(file: string, what: string): never {
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
 * Parses and validates one case file.
 *
 * @param file - path to a `*.json` case
 * @returns the case, as parsed
 * @throws NormkitError `E_STATE` when the file is not valid JSON or not a case
 */
export function loadCase(file: string): GoldenCase {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, (e as Error).message);
  }
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
 * Loads every `*.json` case of a folder, sorted by id.
 *
 * @param dir - the folder (default: the vectors shipped with this package)
 * @returns every case, sorted by `id`
 * @throws NormkitError `E_STATE` when the folder cannot be read or a case is malformed
 */
export function loadCases(dir: string = vectorsDir): GoldenCase[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (e) {
    throw new NormkitError('E_STATE', `${dir}: cannot read the folder of cases (${(e as Error).message})`, dir);
  }
  return names
    .sort()
    .map((name) => loadCase(join(dir, name)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
