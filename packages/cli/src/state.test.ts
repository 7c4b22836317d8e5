import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BatchNorm } from '@normkit/batch-norm';
import { fromArray } from '@normkit/core';
import { readSafetensors, stateDictFromJSON, writeSafetensors } from '@normkit/io';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateInspectJson } from './commands/state.js';
import { main } from './main.js';

let dir = '';
let bnFile = '';
const bin = new URL('../bin/normkit.js', import.meta.url).pathname;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** A trained batch norm's state in PyTorch's names, as `save_file` would write it. */
function batchNormBytes(): Uint8Array {
  const bn = new BatchNorm({ numFeatures: 2 });
  bn.forward(fromArray([1, 10, 2, 20, 3, 30], [3, 2], 'float32'));
  const names = { names: 'pytorch', prefix: 'features.1.' } as const;
  return writeSafetensors(bn.stateDict(names), { format: 'pt' }, { int64: bn.integerEntries(names) });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'normkit-state-'));
  bnFile = join(dir, 'bn.safetensors');
  writeFileSync(bnFile, batchNormBytes());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('normkit state inspect', () => {
  it('lists names, stored dtypes and shapes in file order, and the metadata', async () => {
    const r = await run('state', 'inspect', bnFile);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe(`${bnFile}: safetensors, 5 tensors`);
    expect(lines[1]).toBe('metadata: format="pt"');
    expect(lines.slice(2).map((l) => l.split(/\s+/))).toEqual([
      ['NAME', 'DTYPE', 'SHAPE'],
      ['features.1.num_batches_tracked', 'I64', '[]'],
      ['features.1.bias', 'F32', '[2]'],
      ['features.1.running_mean', 'F32', '[2]'],
      ['features.1.running_var', 'F32', '[2]'],
      ['features.1.weight', 'F32', '[2]'],
    ]);
  });

  it('prints names and metadata keys with control characters as JSON strings: no escape sequence reaches the terminal', async () => {
    const file = join(dir, 'odd-names.safetensors');
    const evil = '\u001b[2J\u001b[31mEVIL';
    const c1 = '\u009b2Jcsi\u202ertl';
    writeFileSync(
      file,
      writeSafetensors({ [evil]: fromArray([1], [1], 'float32'), 'a\nb': fromArray([2], [1], 'float32'), [c1]: fromArray([3], [1], 'float32') }, { 'k\u001b': 'v\u009b\u2028' }),
    );
    const r = await run('state', 'inspect', file);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(r.out).toContain('"\\u001b[2J\\u001b[31mEVIL"');
    expect(r.out).toContain('"a\\nb"');
    expect(r.out).toContain('"\\u009b2Jcsi\\u202ertl"');
    expect(r.out).toContain('metadata: "k\\u001b"="v\\u009b\\u2028"');
    expect(r.out.trimEnd().split('\n')).toHaveLength(6); // header, metadata, column names, three rows
    // convert's note names entries the same way (an I64 entry's dtype, which JSON drops).
    const counterFile = join(dir, 'odd-counter.safetensors');
    writeFileSync(counterFile, writeSafetensors({ [c1]: fromArray([3], [], 'float64') }, {}, { int64: [c1] }));
    const converted = await run('state', 'convert', counterFile, join(dir, 'odd-counter.json'));
    expect(converted.code).toBe(0);
    expect(converted.out).toContain(`not "\\u009b2Jcsi\\u202ertl"'s dtype I64`);
    expect(converted.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  });

  it('--json prints the same as a document', async () => {
    const r = await run('state', 'inspect', bnFile, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as StateInspectJson;
    expect(report.format).toBe('safetensors');
    expect(report.metadata).toEqual({ format: 'pt' });
    expect(report.tensors[0]).toEqual({ name: 'features.1.num_batches_tracked', dtype: 'I64', shape: [] });
    expect(report.tensors.map((t) => t.name)).toHaveLength(5);
  });
});

describe('normkit state convert', () => {
  it('safetensors → JSON → safetensors gives the original bytes (the counter is I64 again)', async () => {
    const json = join(dir, 'bn.json');
    const back = join(dir, 'bn-back.safetensors');
    const toJson = await run('state', 'convert', bnFile, json);
    expect(toJson.code).toBe(0);
    expect(toJson.out).toContain(`JSON keeps float32/float64 only, not the metadata, features.1.num_batches_tracked's dtype I64`);
    const tensors = stateDictFromJSON(readFileSync(json, 'utf8'));
    expect(tensors['features.1.num_batches_tracked'].get()).toBe(1);
    const inspected = await run('state', 'inspect', json, '--json');
    expect((JSON.parse(inspected.out) as StateInspectJson).tensors.find((t) => t.name === 'features.1.bias')?.dtype).toBe('float32');
    const toSafetensors = await run('state', 'convert', json, back);
    expect(toSafetensors.code).toBe(0);
    expect(toSafetensors.out).toBe(`wrote ${back}: safetensors, 5 tensors; int64: features.1.num_batches_tracked\n`);
    // The JSON file has no metadata; the rest is byte for byte the original.
    const original = readSafetensors(readFileSync(bnFile));
    const expected = writeSafetensors(original.tensors, {}, { int64: ['features.1.num_batches_tracked'] });
    expect(Buffer.from(readFileSync(back)).equals(Buffer.from(expected))).toBe(true);
  });

  it('a non-integer counter in JSON stays a float', async () => {
    const json = join(dir, 'frac.json');
    writeFileSync(json, '{"format": "normkit.state-dict", "version": 1, "tensors": {"num_batches_tracked": {"dtype": "float64", "shape": [], "data": [1.5]}}}');
    const out = join(dir, 'frac.safetensors');
    expect((await run('state', 'convert', json, out)).code).toBe(0);
    expect(readSafetensors(readFileSync(out)).dtypes).toEqual({ num_batches_tracked: 'F64' });
  });
});

describe('normkit state: bad arguments and bad files exit 2 with one line', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['no subcommand', () => ['state'], /^normkit: usage: normkit state inspect/],
    ['unknown subcommand', () => ['state', 'show', bnFile], /^normkit: unknown state command "show"/],
    ['missing file argument', () => ['state', 'inspect'], /^normkit: usage:/],
    ['unknown extension', () => ['state', 'inspect', join(dir, 'x.bin')], /^normkit: FILE ".*x\.bin": expected a \.safetensors or \.json file, got extension "\.bin"$/],
    ['missing file', () => ['state', 'inspect', join(dir, 'missing.safetensors')], /^normkit: cannot read ".*missing\.safetensors": ENOENT$/],
    ['convert to an unknown extension', () => ['state', 'convert', bnFile, join(dir, 'out.pt')], /^normkit: OUT ".*out\.pt": expected/],
    ['a directory for OUT', () => ['state', 'convert', bnFile, `${dir}/sub.json/`], /^normkit: cannot write|^normkit: OUT/],
  ];
  for (const [what, argv, pattern] of cases) {
    it(what, async () => {
      const r = await run(...argv());
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.endsWith('\n') && r.err.split('\n').length === 2, r.err).toBe(true);
      expect(r.err.trimEnd()).toMatch(pattern);
    });
  }

  it('a truncated safetensors file and a JSON file that is not a state dict: E_FORMAT messages naming the file', async () => {
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(bnFile).subarray(0, 50));
    const notState = join(dir, 'not-state.json');
    writeFileSync(notState, '{"weight": [1, 2]}');
    const latin1 = join(dir, 'latin1.json');
    writeFileSync(latin1, Buffer.from([0x7b, 0xe9, 0x7d]));
    for (const file of [truncated, notState, latin1]) {
      const r = await run('state', 'inspect', file);
      expect(r.code, file).toBe(2);
      expect(r.err.startsWith(`normkit: ${file}: `), r.err).toBe(true);
      expect(r.err.split('\n')).toHaveLength(2);
    }
  });

  it('the installed command exits 2 with one line on stderr', () => {
    const r = spawnSync(process.execPath, [bin, 'state', 'inspect', join(dir, 'missing.json')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^normkit: cannot read ".*missing\.json": ENOENT\n$/);
  });
});

describe('normkit state on fuzzed files', () => {
  it('never throws: exit 0 for a file that reads, else 2 with one "normkit: " line (mutated and random bytes, both extensions)', async () => {
    const valid = readFileSync(bnFile);
    const validJson = Buffer.from(
      '{"format": "normkit.state-dict", "version": 1, "tensors": {"w": {"dtype": "float32", "shape": [2], "data": [1, -0.5]}}}',
    );
    const mutation = fc.record({
      json: fc.boolean(),
      cut: fc.nat(),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
      random: fc.option(fc.uint8Array({ maxLength: 64 }), { freq: 4 }),
    });
    let failures = 0;
    let successes = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async ({ json, cut, flips, random }) => {
        const base = json ? validJson : valid;
        const bytes = random ?? Buffer.from(base.subarray(0, base.length - (cut % 4 === 0 ? cut % base.length : 0)));
        for (const { at, value } of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
        const file = join(dir, json ? 'fuzz.json' : 'fuzz.safetensors');
        writeFileSync(file, bytes);
        const r = await run('state', 'inspect', file);
        if (r.code === 0) {
          successes++;
          return r.err === '';
        }
        failures++;
        return r.code === 2 && r.out === '' && /^normkit: [^\n]*\n$/.test(r.err);
      }),
      { seed: 17, numRuns: 300 },
    );
    // Both outcomes were exercised.
    expect(failures).toBeGreaterThan(50);
    expect(successes).toBeGreaterThan(10);
  });
});
