import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotableText, quotedBlocks } from './guide-blocks.js';
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

describe('the getting-started guide', () => {
  let build = { outDir: '', errors: '' };
  beforeAll(() => {
    build = compileExample('getting-started');
  });
  afterAll(() => rmSync(build.outDir, { recursive: true, force: true }));

  it('compiles with tsc, strict', () => {
    expect(build.errors).toBe('');
  });

  it('runs, and prints what the guide says it prints', () => {
    const out = node([join(build.outDir, 'getting-started.js')]).trimEnd();
    const guide = readFileSync(join(guidesDir, '01-getting-started.md'), 'utf8');
    expect(out).toContain('restored equal  true');
    expect(guide).toContain(`\`\`\`text\n${out}\n\`\`\``);
  });
});

describe('the custom-normalizer guide (RMS norm)', () => {
  let build = { outDir: '', errors: '' };
  beforeAll(() => {
    build = compileExample('rms-norm');
  });
  afterAll(() => rmSync(build.outDir, { recursive: true, force: true }));

  it('compiles with tsc, strict, as a user package would', () => {
    expect(build.errors).toBe('');
    expect(readdirSync(build.outDir)).toContain('rms-norm.js');
  });

  it('passes `normkit gradcheck` on the compiled module', () => {
    const bin = join(dirname(require.resolve('@normkit/cli/package.json')), 'bin', 'normkit.js');
    const out = node([bin, 'gradcheck', relative(packageDir, join(build.outDir, 'rms-norm.js'))]);
    expect(out).toMatch(/^PASS\s+rms-norm\s/m);
    expect(out).not.toMatch(/^FAIL/m);
    expect(out).toMatch(/^\d+ passed, 0 failed$/m);
  });
});

describe('the math guide (Hessian–vector products through batch norm)', () => {
  let build = { outDir: '', errors: '' };
  beforeAll(() => {
    build = compileExample('hessian-vector');
  });
  afterAll(() => rmSync(build.outDir, { recursive: true, force: true }));

  it('compiles with tsc, strict', () => {
    expect(build.errors).toBe('');
  });

  it('runs, agrees with finite differences, and prints what the guide says it prints', () => {
    const out = node([join(build.outDir, 'hessian-vector.js')]).trimEnd();
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
      ]),
    );
  });

  it.each(blocks.map((b) => [`${relative(repoRoot, b.guide)}:${b.line} = ${relative(repoRoot, b.file)}`, b] as const))('%s', (_, block) => {
    // On failure: copy the file into the guide's code block (or fix the file).
    expect(block.code).toBe(quotableText(block.file));
  });
});
