import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotableText, quotedBlocks } from './guide-blocks.js';
import { snippetsOf } from './snippets.js';
import { docsDir, guidesDir, repoRoot } from './paths.js';

const require = createRequire(import.meta.url);
const packageDir = join(repoRoot, 'packages', 'docs-check');
const examplesDir = join(docsDir, 'examples');

/**
 * Compiles an example folder with its own tsconfig.json, as a user's package would, into a
 * fresh folder inside this package (so `@normkit/*` imports resolve as they do for a user;
 * `.readme-example-*` is git-ignored should a run be interrupted).
 */
function compileExample(name: string): { outDir: string; errors: string } {
  const dir = join(examplesDir, name);
  const outDir = mkdtempSync(join(packageDir, `.readme-example-${name}-`));
  const configFile = join(dir, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dir, { outDir }, configFile);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const emitted = program.emit();
  const diagnostics = [...(read.error ? [read.error] : []), ...parsed.errors, ...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  const errors = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => repoRoot,
    getNewLine: () => '\n',
  });
  return { outDir, errors };
}

function node(args: readonly string[]): string {
  // execFileSync throws (failing the test, with stderr) when the exit code is not 0.
  return execFileSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const builds = new Map<string, { outDir: string; errors: string }>();
const EXAMPLES = ['getting-started', 'rms-norm', 'mean-only-batch-norm', 'hessian-vector'];
beforeAll(() => {
  for (const name of EXAMPLES) builds.set(name, compileExample(name));
});
afterAll(() => {
  for (const { outDir } of builds.values()) rmSync(outDir, { recursive: true, force: true });
});
const built = (name: string) => builds.get(name) ?? { outDir: '', errors: `${name} was not compiled` };
const cli = () => join(dirname(require.resolve('@normkit/cli/package.json')), 'bin', 'normkit.js');

describe('the guides’ example folders', () => {
  it.each(EXAMPLES)('%s compiles with tsc, strict, as a user package would', (name) => {
    expect(built(name).errors).toBe('');
  });

  it('getting-started runs, and prints what the guide says it prints', () => {
    const out = node([join(built('getting-started').outDir, 'getting-started.js')]).trimEnd();
    const guide = readFileSync(join(guidesDir, '01-getting-started.md'), 'utf8');
    expect(out).toContain('restored equal  true');
    expect(guide).toContain(`\`\`\`text\n${out}\n\`\`\``);
  });

  it.each([
    ['rms-norm', 'rms-norm.js', 'rms-norm'],
    ['mean-only-batch-norm', 'mean-only-batch-norm.js', 'mean-only-batch-norm'],
  ])('%s passes `normkit gradcheck` on the compiled module', (name, file, plugin) => {
    const out = node([cli(), 'gradcheck', relative(packageDir, join(built(name).outDir, file))]);
    expect(out).toMatch(new RegExp(`^PASS\\s+${plugin}\\s`, 'm'));
    expect(out).not.toMatch(/^FAIL/m);
    expect(out).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it.each([
    ['rms-norm', 'rms-norm.js'],
    ['mean-only-batch-norm', 'mean-only-batch-norm.js'],
  ])('the guide shows exactly what `normkit gradcheck` prints for %s', (name, file) => {
    const out = node([cli(), 'gradcheck', relative(packageDir, join(built(name).outDir, file))]).trimEnd();
    const guide = readFileSync(join(guidesDir, '02-custom-normalizer.md'), 'utf8');
    // On failure: paste the output into the guide's ```text block (the table counts change when the checker gains checks).
    expect(guide).toContain(`\`\`\`text\n${out}\n\`\`\``);
  });

  it('`normkit conformance --plugin` runs the rms_norm vectors through the guide\'s plugin, in both dtypes, as the guide says', () => {
    const plugin = relative(packageDir, join(built('rms-norm').outDir, 'rms-norm.js'));
    for (const dtype of ['float64', 'float32']) {
      const out = node([cli(), 'conformance', '--plugin', plugin, '--dtype', dtype]).trimEnd();
      expect(out.split('\n').at(-1)).toBe('4 passed, 0 failed');
      expect(out).toMatch(/rms_norm\s+rms-norm\s+4 passed, 0 failed/);
    }
    const guide = readFileSync(join(guidesDir, '02-custom-normalizer.md'), 'utf8');
    expect(guide).toContain('npx normkit conformance --plugin ./dist/rms-norm.js');
  });

  it('mean-only batch norm is checked in both modes, with its invariant', () => {
    const out = node([cli(), 'gradcheck', relative(packageDir, join(built('mean-only-batch-norm').outDir, 'mean-only-batch-norm.js'))]);
    expect(out).toMatch(/^PASS\s+mean-only-batch-norm\s+train\s/m);
    expect(out).toMatch(/^PASS\s+mean-only-batch-norm\s+eval\s/m);
    expect(out).toContain('invariants');
  });

  // A quoted program followed by "It prints:" must print exactly that text.
  const printing = readdirSync(guidesDir)
    .filter((f) => f.endsWith('.md'))
    .flatMap((g) => snippetsOf(join(guidesDir, g)))
    .filter((s) => s.quoted && s.prints !== null);
  it.each(printing.map((s) => [`${s.page}:${s.line}`, s] as const))('the program quoted at %s prints what the guide shows', (_, s) => {
    const block = quotedBlocks(join(repoRoot, s.page)).find((b) => b.line === s.line - 1);
    if (block === undefined) throw new Error(`no quoted file at ${s.page}:${s.line}`);
    const example = relative(examplesDir, block.file).split(/[\\/]/);
    const out = node([join(built(example[0]).outDir, example.slice(1).join('/').replace(/\.ts$/, '.js'))]);
    expect(out.trimEnd()).toBe((s.prints ?? '').trimEnd());
  });
});

describe('the math guide (Hessian–vector products through batch norm)', () => {
  it('agrees with central differences of the gradient to 1e-8 (float64), and the guide shows that output', () => {
    const out = node([join(built('hessian-vector').outDir, 'hessian-vector.js')]).trimEnd();
    const guide = readFileSync(join(guidesDir, '03-the-math.md'), 'utf8');
    expect(out).toContain('differences agree to 1e-8: true');
    expect(guide).toContain(`\`\`\`text\n${out}\n\`\`\``);
  });
});

describe('guides quote real files verbatim', () => {
  const guides = readdirSync(guidesDir).filter((f) => f.endsWith('.md'));
  const blocks = guides.flatMap((g) => quotedBlocks(join(guidesDir, g)));

  it('the guides quote the example programs and the plugin test', () => {
    const quoted = blocks.map((b) => relative(examplesDir, b.file));
    expect(quoted).toEqual(
      expect.arrayContaining([
        join('getting-started', 'getting-started.ts'),
        join('rms-norm', 'rms-norm.ts'),
        join('rms-norm', 'rms-norm.test.ts'),
        join('hessian-vector', 'hessian-vector.ts'),
        join('rms-norm', 'use.ts'),
        join('mean-only-batch-norm', 'mean-only-batch-norm.ts'),
        join('mean-only-batch-norm', 'mean-only-batch-norm.test.ts'),
        join('mean-only-batch-norm', 'pure.ts'),
      ]),
    );
  });

  it.each(blocks.map((b) => [`${relative(repoRoot, b.guide)}:${b.line} = ${relative(repoRoot, b.file)}`, b] as const))('%s', (_, block) => {
    // On failure: copy the file into the guide's code block (or fix the file).
    expect(block.code).toBe(quotableText(block.file));
  });
});
