/**
 * The CLI's bad-input rows: every kind of bad argument or input file must exit with code 2
 * (one line on stderr, nothing on stdout), in process through `main` and once through the
 * real `normkit` bin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '@normkit/cli';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '../../cli/bin/normkit.js');
const vectors = join(here, '../../conformance/vectors');
const work = mkdtempSync(join(tmpdir(), 'normkit-reliability-'));

/** A folder holding one case file with the given text. */
function caseDir(name: string, text: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'case.json'), text);
  return dir;
}

const good = JSON.parse(readFileSync(join(vectors, readdirSync(vectors).filter((f) => f.endsWith('.json')).sort()[0]), 'utf8')) as Record<string, unknown>;
const withCase = (patch: Record<string, unknown>): string => JSON.stringify({ ...good, ...patch });

function module(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

const ROWS: [string, string[]][] = [
  ['no command', []],
  ['an unknown command', ['gradchek']],
  ['an unknown plugin name', ['gradcheck', 'batch-normm']],
  ['--seed −1', ['gradcheck', 'layer-norm', '--seed', '-1']],
  ['--seed 1.5', ['gradcheck', 'layer-norm', '--seed', '1.5']],
  ['--seed abc', ['gradcheck', 'layer-norm', '--seed', 'abc']],
  ['--seed NaN', ['gradcheck', 'layer-norm', '--seed=NaN']],
  ['--seed without a value', ['gradcheck', 'layer-norm', '--seed']],
  ['an unknown flag', ['gradcheck', '--fast']],
  ['a value on a switch', ['gradcheck', '--json=yes']],
  ['a module path that does not exist', ['gradcheck', join(work, 'missing.mjs')]],
  ['a module that does not parse', ['gradcheck', module('broken.mjs', 'export default {')]],
  ['a module that exports no plugin', ['gradcheck', module('empty.mjs', 'export const x = 1;')]],
  ['a module exporting a non-normalizer', ['gradcheck', module('bad.mjs', 'export default { meta: 1, ["__proto__"]: {}, constructor: 2 };')]],
  [
    'a module exporting a definition not wrapped in defineNormalizer (bind, no create)',
    ['gradcheck', module('definition.mjs', "export default { meta: { name: 'd', version: '1', description: 'd', formula: 'y' }, modes: ['train'], exampleOptions: [{}], resolveOptions: (o) => o, bind: () => ({}) };")],
  ],
  ['conformance with two folders', ['conformance', vectors, vectors]],
  ['conformance on a missing folder', ['conformance', join(work, 'nope')]],
  ['conformance on a file', ['conformance', join(vectors, 'README.md')]],
  ['conformance --dtype float16', ['conformance', vectors, '--dtype', 'float16']],
  ['a case file that is not JSON', ['conformance', caseDir('notjson', '{ "id": ')]],
  ['a case file holding an array', ['conformance', caseDir('array', '[]')]],
  ['a case without an id', ['conformance', caseDir('noid', withCase({ id: 7 }))]],
  ['a case of an unknown layer', ['conformance', caseDir('layer', withCase({ layer: 'dropout' }))]],
  ['a case whose data holds a string', ['conformance', caseDir('strdata', withCase({ inputs: { x: { shape: [1], data: ['1'] } } }))]],
  ['a case whose shape and data disagree', ['conformance', caseDir('mismatch', withCase({ inputs: { x: { shape: [2, 2], data: [1, 2, 3] } } }))]],
  ['a case whose inputs hold an own "__proto__" entry', ['conformance', caseDir('proto', JSON.stringify(good).replace('"inputs":{', '"inputs":{"__proto__":5,'))]],
  ['a case whose mode is "test"', ['conformance', caseDir('mode', withCase({ mode: 'test' }))]],
];

describe('normkit CLI: exit code 2 on bad input', () => {
  it.each(ROWS)('%s → 2', async (_label, argv) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(out.join('')).toBe('');
    expect(err.join('').trim().length).toBeGreaterThan(0);
  });

  it('the real bin exits with 2 for an unknown plugin and for a bad seed (a separate process)', () => {
    for (const argv of [['gradcheck', 'no-such-plugin'], ['gradcheck', 'layer-norm', '--seed', '-3']]) {
      const run = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8' });
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^normkit: /);
    }
  });
});
