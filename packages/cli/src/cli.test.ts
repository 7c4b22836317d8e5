import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GradcheckJson } from './commands/gradcheck.js';
import type { CaseResult } from '@normkit/conformance';
import { caseNote } from './commands/conformance.js';
import { COMMAND_HELP, USAGE } from './help.js';

const packageDir = new URL('..', import.meta.url).pathname;
const bin = join(packageDir, 'bin', 'normkit.js');
const vectors = join(packageDir, '..', 'conformance', 'vectors');

function normkit(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A user's project outside the repo: their plugin file and their node_modules/@normkit/core.
let userDir = '';
beforeAll(() => {
  userDir = mkdtempSync(join(tmpdir(), 'normkit-user-'));
  mkdirSync(join(userDir, 'node_modules', '@normkit'), { recursive: true });
  symlinkSync(join(packageDir, '..', 'core'), join(userDir, 'node_modules', '@normkit', 'core'), 'dir');
  copyFileSync(join(packageDir, 'test', 'fixtures', 'scale-shift.mjs'), join(userDir, 'scale-shift.mjs'));
  writeFileSync(join(userDir, 'good.mjs'), "import { makeScaleShift } from './scale-shift.mjs';\nexport default makeScaleShift(false);\n");
  writeFileSync(join(userDir, 'broken.mjs'), "import { makeScaleShift } from './scale-shift.mjs';\nexport const plugin = makeScaleShift(true);\n");
  writeFileSync(join(userDir, 'nothing.mjs'), 'export const answer = 42;\n');
  writeFileSync(join(userDir, 'not-a-plugin.mjs'), 'export default { meta: { name: "x" } };\n');
  writeFileSync(join(userDir, 'syntax-error.mjs'), 'export default {\n');
  // What a user writes before the bound contract: a plugin object whose methods take the options.
  writeFileSync(
    join(userDir, 'old-contract.mjs'),
    [
      "export default {",
      "  meta: { name: 'old', version: '0.0.0', description: 'y = x', formula: 'y = x' },",
      "  modes: ['train'],",
      "  exampleOptions: [{}],",
      "  resolveOptions: (input) => ({ ...input }),",
      "  paramShapes: () => ({}),",
      "  forward: ({ x, state }, options) => ({ y: x, state, saved: {} }),",
      "};",
      '',
    ].join('\n'),
  );
  // A definition that was never passed to defineNormalizer.
  writeFileSync(
    join(userDir, 'definition.mjs'),
    "import { makeScaleShift } from './scale-shift.mjs';\nconst { create, ...rest } = makeScaleShift(false);\nexport default { ...rest, bind: () => ({}) };\n",
  );
  // A broken plugin whose option label is long: the failure output must print it in full.
  writeFileSync(
    join(userDir, 'broken-long.mjs'),
    "import { makeScaleShift } from './scale-shift.mjs';\nconst p = makeScaleShift(true);\nexport default { ...p, exampleOptions: [{ features: 3, comment: 'an option label much longer than thirty-two characters' }] };\n",
  );
  // A plugin in TypeScript: Node imports it only where it strips types.
  writeFileSync(join(userDir, 'my-norm.ts'), "import { makeScaleShift } from './scale-shift.mjs';\nconst plugin: unknown = makeScaleShift(false);\nexport default plugin;\n");
  mkdirSync(join(userDir, 'cases'));
  writeFileSync(join(userDir, 'cases', 'bad.json'), '{"id": 1}');
});
afterAll(() => rmSync(userDir, { recursive: true, force: true }));

describe('normkit conformance', () => {
  it('--plugin runs only the cases of the layer your plugin declares, through it', () => {
    const rmsNormModule = join(packageDir, '..', 'rms-norm', 'dist', 'index.js');
    writeFileSync(join(userDir, 'own-rms-norm.mjs'), `export { rmsNorm as default } from ${JSON.stringify(rmsNormModule)};\n`);
    const r = normkit('conformance', '--plugin', join(userDir, 'own-rms-norm.mjs'));
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('PASS')).length).toBe(4);
    expect(lines.filter((l) => /^(PASS|FAIL|SKIPPED)\s/.test(l)).every((l) => l.includes('rmsnorm-'))).toBe(true);
    expect(r.stdout).toMatch(/rms_norm\s+rms-norm\s+4 passed, 0 failed/);
    expect(lines.at(-1)).toBe('4 passed, 0 failed');
    // a plugin that declares no PyTorch layer, or one no case has: exit 2 saying why
    const none = normkit('conformance', '--plugin', join(userDir, 'good.mjs'));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('declares no PyTorch layer (pytorch.layer');
    writeFileSync(
      join(userDir, 'other-layer.mjs'),
      `import rms from './own-rms-norm.mjs';\nexport default { ...rms, pytorch: { ...rms.pytorch, layer: 'swish_norm' } };\n`,
    );
    const unmatched = normkit('conformance', '--plugin', join(userDir, 'other-layer.mjs'));
    expect(unmatched.code).toBe(2);
    expect(unmatched.stderr).toContain("no case of PyTorch's swish_norm");
    expect(normkit('conformance', '--plugin').code).toBe(2);
  });

  it('passes every vendored case: every layer has a built-in plugin, none is skipped', () => {
    const r = normkit('conformance', vectors);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('52 passed, 0 failed');
    expect(lines.filter((l) => l.startsWith('PASS')).length).toBe(52);
  });

  it('passes in float32 at the float32 tolerances', () => {
    const r = normkit('conformance', vectors, '--dtype', 'float32');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('52 passed, 0 failed');
  });

  it('prints stable JSON with --json', () => {
    const r = normkit('conformance', vectors, '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { cases: Record<string, unknown>[]; passed: number; failed: number; skipped: number };
    expect([json.passed, json.failed, json.skipped]).toEqual([52, 0, 0]);
    expect(Object.keys(json.cases[0]).slice(0, 6)).toEqual(['id', 'layer', 'status', 'maxAbsErr', 'maxRelErr', 'message']);
    const second = json.cases.find((c) => c.id === 'batchnorm-train-secondorder-2d-001');
    expect(second).toMatchObject({ status: 'pass', secondOrder: 'checked' });
    expect(json.cases.filter((c) => c.secondOrder === 'checked').map((c) => c.id)).toEqual([
      'batchnorm-train-secondorder-2d-001',
      'batchnorm-train-secondorder-4d-001',
      'layernorm-secondorder-3d-001',
    ]);
  });

  it('exits 2 with one line for a missing folder, a malformed case, a bad dtype', () => {
    for (const args of [[join(userDir, 'nope')], [join(userDir, 'cases')], [vectors, '--dtype', 'float16'], [vectors, vectors], [vectors, '--bogus']]) {
      const r = normkit('conformance', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(r.stderr).toMatch(/^normkit: /);
      expect(r.stderr).not.toContain('    at ');
    }
  });
});

describe('normkit gradcheck', () => {
  it('checks a built-in plugin by name and prints a table and a summary', () => {
    const r = normkit('gradcheck', 'layer-norm', '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/STATUS\s+PLUGIN\s+MODE\s+SHAPE\s+TENSOR/);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.stderr).toContain('gradcheck layer-norm');
  });

  it("checks a user's plugin module written outside the repo", () => {
    const r = normkit('gradcheck', join(userDir, 'good.mjs'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('scale-shift');
  });

  it('exits 1 on a broken plugin module, showing the failing tensor', () => {
    const r = normkit('gradcheck', join(userDir, 'broken.mjs'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+scale-shift-broken\s+train\s+\[4, 3\]\s+x/);
    const json = JSON.parse(normkit('gradcheck', join(userDir, 'broken.mjs'), '--json').stdout) as { failed: number; cases: { tensor: string; status: string }[] };
    expect(json.failed).toBeGreaterThan(0);
    expect(json.cases.filter((c) => c.status === 'fail').map((c) => c.tensor)).toContain('x');
    expect(json.cases.find((c) => c.tensor === 'weight')?.status).toBe('pass');
  });

  it('a plugin whose backward throws: ERROR rows, the error once with where it was thrown, then where else it came', () => {
    writeFileSync(
      join(userDir, 'throws.mjs'),
      [
        "import { makeScaleShift } from './scale-shift.mjs';",
        'const good = makeScaleShift(false);',
        'export default { ...good, create(options) {',
        '  const bound = good.create(options);',
        '  return { ...bound, backward(args) { return args.saved.missing.foo; } };',
        '} };',
        '',
      ].join('\n'),
    );
    const r = normkit('gradcheck', join(userDir, 'throws.mjs'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR\s+scale-shift\s+train\s+\[4, 3\]\s+x\s/m);
    // the location of the throw: the user's file and line
    expect(r.stdout).toMatch(/threw: TypeError: Cannot read properties of undefined \(reading 'foo'\) \(at .*throws\.mjs:5:\d+\)\)/);
    expect(r.stdout).toMatch(/ERROR {2}the same error in \d+ more checks?: /);
    const full = r.stdout.split('\n').filter((line) => /^\s+(backward )?threw: TypeError/.test(line)).length;
    expect(full).toBeLessThan(6);
  });

  it('--size large checks the large shapes in projection mode; --size all both; the variant is in the table and the JSON', () => {
    const large = normkit('gradcheck', 'rms-norm', '--size', 'large', '--json');
    expect(large.code).toBe(0);
    const json = JSON.parse(large.stdout) as GradcheckJson;
    const shapes = new Set(json.cases.filter((c) => !c.tensor.startsWith('contract:')).map((c) => c.shape[0]));
    expect([...shapes].sort((a, b) => a - b)).toEqual([5, 67]);
    expect(json.cases.every((c) => c.variant.startsWith('size large'))).toBe(true);
    expect(json.cases.some((c) => c.variant === 'size large, dtype float32' && c.tensor === 'dx')).toBe(true);
    const all = JSON.parse(normkit('gradcheck', 'rms-norm', '--size', 'all', '--json').stdout) as GradcheckJson;
    expect(all.cases.length).toBe(json.cases.length + (JSON.parse(normkit('gradcheck', 'rms-norm', '--json').stdout) as GradcheckJson).cases.length);
    const table = normkit('gradcheck', 'rms-norm').stdout;
    expect(table).toMatch(/^PASS\s+rms-norm\s+train\s+\[3, 5\]\s+x\s/m);
    expect(table).toMatch(/^PASS\s+rms-norm\s+train\s+\[2, 2, 5\]\s+dx \[dtype float32\]\s/m);
  });

  it('--variant-shapes all runs the variants at every example shape; --order 2 honours --size', () => {
    const one = JSON.parse(normkit('gradcheck', 'rms-norm', '--json').stdout) as GradcheckJson;
    const every = JSON.parse(normkit('gradcheck', 'rms-norm', '--variant-shapes', 'all', '--json').stdout) as GradcheckJson;
    // One float32 check of dx per option set and mode by default; one per example shape with all.
    const float32Checks = (json: GradcheckJson) => json.cases.filter((c) => c.variant === 'dtype float32' && c.tensor === 'dx').length;
    const cases = (json: GradcheckJson) => new Set(json.cases.filter((c) => c.variant === '' && c.tensor === 'x').map((c) => `${c.options}:${c.mode}:${c.shape.join('x')}`)).size;
    const optionModes = new Set(one.cases.filter((c) => c.variant === '' && c.tensor === 'x').map((c) => `${c.options}:${c.mode}`)).size;
    expect(float32Checks(one)).toBe(optionModes);
    expect(float32Checks(every)).toBe(cases(every));
    expect(cases(every)).toBeGreaterThan(optionModes);
    expect(every.failed).toBe(0);
    const large = normkit('gradcheck', 'layer-norm', '--order', '2', '--size', 'large', '--json');
    expect(large.code).toBe(0);
    const json = JSON.parse(large.stdout) as GradcheckJson;
    expect(json.passed).toBeGreaterThan(0);
    expect(json.cases.every((c) => c.variant.startsWith('size large'))).toBe(true);
  });

  it("--size large on a user's plugin without largeShapes() fails with a message saying so", () => {
    const r = normkit('gradcheck', join(userDir, 'good.mjs'), '--size', 'large');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('the plugin declares no largeShapes(): nothing to check at size large');
  });

  it('--order 2 checks doubleBackward and reports a plugin without it as skipped, not failed', () => {
    const r = normkit('gradcheck', 'layer-norm', 'batch-renorm', '--order', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PASS\s+layer-norm\s+train\s+\[3, 5\]\s+dy/);
    expect(r.stdout).toMatch(/SKIP\s+batch-renorm\s+\*/);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed, 1 skipped$/);
    expect(r.stderr).toContain('skipped: batch-renorm has no doubleBackward member');
    const json = JSON.parse(normkit('gradcheck', 'rms-norm', 'ghost-batch-norm', '--order', '2', '--json').stdout) as {
      passed: number;
      failed: number;
      skipped: number;
      cases: { id: string; tensor: string; status: string }[];
    };
    expect([json.failed, json.skipped]).toEqual([0, 1]);
    expect(json.passed).toBeGreaterThan(0);
    expect(json.cases.find((c) => c.status === 'skipped')?.id).toBe('ghost-batch-norm:skipped');
    expect(new Set(json.cases.filter((c) => c.status === 'pass' && !c.tensor.startsWith('contract:')).map((c) => c.tensor))).toEqual(new Set(['x', 'weight', 'dy']));
  });

  it('exits 2 with one line for unknown names, unreadable paths, modules without a plugin, bad flags', () => {
    const bad = [
      ['gradcheck', 'no-such-norm'],
      ['gradcheck', join(userDir, 'missing.mjs')],
      ['gradcheck', join(userDir, 'nothing.mjs')],
      ['gradcheck', join(userDir, 'not-a-plugin.mjs')],
      ['gradcheck', join(userDir, 'syntax-error.mjs')],
      ['gradcheck', '--seed', 'x'],
      ['gradcheck', '--size', 'huge'],
      ['gradcheck', '--variant-shapes', 'some'],
      ['gradcheck', 'layer-norm', '--order', '2', '--variant-shapes', 'all'],
      ['gradcheck', 'layer-norm', '--order', '3'],
      ['gradcheck', 'layer-norm', '--order'],
      ['frobnicate'],
      [],
    ];
    for (const args of bad) {
      const r = normkit(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toContain('    at ');
    }
    expect(normkit('gradcheck', 'no-such-norm').stderr).toBe(
      'normkit: unknown plugin "no-such-norm"; built-in plugins: batch-norm, batch-renorm, ghost-batch-norm, group-norm, instance-norm, layer-norm, rms-norm, sync-batch-norm, weight-norm, weight-norm-linear\n',
    );
    expect(normkit('gradcheck', 'RMSNorm').stderr).toContain('unknown plugin "RMSNorm" (did you mean rms-norm?); built-in plugins:');
    expect(normkit('gradcheck', 'batch_norm').stderr).toContain('(did you mean batch-norm?)');
  });

  it('exits 2 for a module whose plugin is not made with defineNormalizer (no create)', () => {
    const old = normkit('gradcheck', join(userDir, 'old-contract.mjs'));
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/^normkit: \S+old-contract\.mjs does not export a normalizer: \S+old-contract\.mjs\.create: expected a function, got undefined\n$/);
    const definition = normkit('gradcheck', join(userDir, 'definition.mjs'));
    expect(definition.code).toBe(2);
    expect(definition.stderr).toMatch(/\.create: expected a function, got undefined \(a definition: wrap it with defineNormalizer\)\n$/);
  });
});

describe('normkit --help, COMMAND --help, --version', () => {
  const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;

  it('--help, -h and help print the usage on stdout and exit 0', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = normkit(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toBe(USAGE);
      expect(r.stderr).toBe('');
    }
    expect(USAGE).toContain('conformance [DIR]');
    expect(USAGE).toContain('--version');
  });

  it('--version, -v and -V print the package version and exit 0', () => {
    for (const flag of ['--version', '-v', '-V']) {
      const r = normkit(flag);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toBe(`normkit ${version}\n`);
    }
  });

  it('COMMAND --help and help COMMAND print that command’s help and exit 0, whatever else is on the line', () => {
    for (const command of ['gradcheck', 'conformance']) {
      for (const args of [[command, '--help'], [command, '-h'], ['help', command], [command, 'batch-norm', '--seed', '3', '--help']]) {
        const r = normkit(...args);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout).toBe(COMMAND_HELP[command]);
        expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^usage: normkit ${command} `));
      }
    }
    const r = normkit('help', 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('normkit: no help for "frobnicate": the commands are gradcheck, conformance and state\n');
  });
});

describe('normkit conformance without DIR', () => {
  it('runs the vectors shipped in @normkit/conformance, with a summary per PyTorch layer', () => {
    const r = normkit('conformance');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('52 passed, 0 failed');
    expect(lines.filter((l) => l.startsWith('PASS')).length).toBe(52);
    expect(r.stdout).toMatch(/^Summary \(float64\):$/m);
    expect(r.stdout).toMatch(/^ {2}batch_norm +batch-norm +22 passed, 0 failed$/m);
    expect(r.stdout).toMatch(/^ {2}rms_norm +rms-norm +4 passed, 0 failed$/m);
  });

  it('refuses more than one folder with exit code 2', () => {
    const r = normkit('conformance', vectors, vectors);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^normkit: usage: normkit conformance \[DIR\]/);
  });

  it('explains a skipped case and an unchecked second-order part in words', () => {
    const base: CaseResult = { id: 'groupnorm-x', layer: 'group_norm', status: 'skipped', maxAbsErr: 0, maxRelErr: 0, message: 'no plugin implements group_norm' };
    expect(caseNote(base)).toBe("not run: no built-in plugin implements PyTorch's group_norm (a plugin declares the layer it implements in pytorch.layer)");
    expect(caseNote({ ...base, status: 'pass', message: '', secondOrder: 'skipped' })).toBe("its second-order values (PyTorch's double backward) were not compared");
    expect(caseNote({ ...base, status: 'fail', message: 'y differs' })).toBe('y differs');
  });
});

describe('normkit gradcheck output', () => {
  it('on a failure: one table, the failure in full (options not cut), and a summary per plugin', () => {
    const r = normkit('gradcheck', join(userDir, 'broken-long.mjs'), 'layer-norm');
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^STATUS /gm)?.length).toBe(1);
    expect(r.stdout.match(/MAX ABS ERR|max abs err/g)?.length).toBe(1);
    expect(r.stdout).not.toContain('…');
    const label = '{"features":3,"comment":"an option label much longer than thirty-two characters"}';
    expect(r.stdout).toContain(`FAIL  scale-shift-broken  x  train  [4, 3]  ${label}  (full Jacobian)`);
    expect(r.stdout).toMatch(/^ {4}source +index +y index +analytic +numeric +abs err +rel err$/m);
    expect(r.stdout).toMatch(/^Summary:$/m);
    expect(r.stdout).toMatch(/^ {2}scale-shift-broken +0\.0\.0 +FAIL {2}\d+ passed, 2 failed: x$/m);
    expect(r.stdout).toMatch(/^ {2}layer-norm +\S+ +PASS {2}\d+ passed, 0 failed$/m);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 2 failed$/);
  });

  it('a .ts plugin: works where Node strips types, else exit 2 saying to compile it first', () => {
    const r = normkit('gradcheck', join(userDir, 'my-norm.ts'));
    const [major, minor] = process.versions.node.split('.').map(Number);
    if (major > 22 || (major === 22 && minor >= 18)) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^PASS +scale-shift /m);
    } else {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('my-norm.ts is TypeScript, which Node');
      expect(r.stderr).toContain('compile it first (npx tsc)');
      expect(r.stderr).toContain('normkit gradcheck ./dist/my-norm.js');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // a declaration file points at the compiled module beside it, not at a `.d.js`
      writeFileSync(join(userDir, 'my-norm.d.ts'), 'declare const plugin: unknown;\nexport default plugin;\n');
      expect(normkit('gradcheck', join(userDir, 'my-norm.d.ts')).stderr).toContain('normkit gradcheck ./dist/my-norm.js ');
    }
  });
});
