import { NormkitError, nodeBuiltin } from '@normkit/core';
import type { GoldenCase } from './format.js';
import { fail, parseCase, sortCases } from './parse.js';

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');
type NodeUrl = typeof import('node:url');

/**
 * The folder of the PyTorch vectors shipped with this package: a file path on Node; off Node
 * (a bundled web page), the URL next to the bundle, or `'../vectors/'` where a bundle format
 * has no `import.meta.url`.
 */
export const vectorsDir: string = shippedVectorsDir();

function shippedVectorsDir(): string {
  try {
    const url = new URL('../vectors/', import.meta.url);
    return nodeBuiltin<NodeUrl>('node:url')?.fileURLToPath(url) ?? url.href;
  } catch {
    return '../vectors/';
  }
}

/**
 * Node's file system and path modules, reached at run time (not imported: the package's main
 * entry must bundle for the web); off Node, an `E_STATE` naming what to use instead.
 */
function nodeFiles(what: string): { fs: NodeFs; path: NodePath } {
  const fs = nodeBuiltin<NodeFs>('node:fs');
  const path = nodeBuiltin<NodePath>('node:path');
  if (fs === undefined || path === undefined) {
    throw new NormkitError('E_STATE', `${what}: reading case files needs Node's file system, which this host lacks (a browser); parse the JSON you import or fetch with parseCase`, what);
  }
  return { fs, path };
}

/**
 * Parses and validates one case file.
 *
 * @param file - path to a `*.json` case
 * @returns the case, as parsed
 * @throws NormkitError `E_STATE` when the file is not valid JSON or not a case, or off Node
 */
export function loadCase(file: string): GoldenCase {
  const { fs } = nodeFiles('loadCase');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, (e as Error).message);
  }
  return parseCase(parsed, file);
}

/**
 * Loads every `*.json` case of a folder, sorted by id.
 *
 * @param dir - the folder (default: the vectors shipped with this package)
 * @returns every case, sorted by `id`
 * @throws NormkitError `E_STATE` when the folder cannot be read or a case is malformed, or off Node
 */
export function loadCases(dir: string = vectorsDir): GoldenCase[] {
  const { fs, path } = nodeFiles('loadCases');
  let names: string[];
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (e) {
    throw new NormkitError('E_STATE', `${dir}: cannot read the folder of cases (${(e as Error).message})`, dir);
  }
  return sortCases(names.sort().map((name) => loadCase(path.join(dir, name))));
}
