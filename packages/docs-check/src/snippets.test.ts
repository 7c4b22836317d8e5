// Every code block of the home page, CONTRIBUTING.md, the package READMEs and the guides runs
// as written: TypeScript blocks compile by themselves in strict mode and run; JavaScript blocks
// run. Imports of @normkit/* resolve to this repository's packages, as a user's would.
// Exceptions, each checked:
// - a block marked `fragment` in its info string (```ts fragment) does not run by itself, and
//   its first line must be a comment saying what it leaves out (CONTRIBUTING.md explains this);
// - a block quoting a real file (<!-- file: … --> before it) is that file, which
//   examples.test.ts compiles, runs and compares byte for byte;
// - shell, JSON, text, Python and math blocks are not programs.
// A runnable block followed by "It prints:" and a ```text block must print exactly that text.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './paths.js';
import { FRAGMENT, RUNNABLE, documentedPages, snippetsOf } from './snippets.js';
import type { Snippet } from './snippets.js';

const packageDir = join(repoRoot, 'packages', 'docs-check');
const all = documentedPages().flatMap(snippetsOf);
const runnable = all.filter((s) => RUNNABLE.has(s.lang) && !s.quoted && !s.flags.includes(FRAGMENT));
const fragments = all.filter((s) => RUNNABLE.has(s.lang) && s.flags.includes(FRAGMENT));
const isTs = (s: Snippet) => s.lang === 'ts' || s.lang === 'typescript';
const label = (s: Snippet) => `${s.page}:${s.line} (${s.lang})`;

let dir = '';
const files = new Map<Snippet, { source: string; run: string }>();
const diagnostics = new Map<string, string>();

beforeAll(() => {
  // Inside this package, so that `@normkit/*` resolves through node_modules as for a user.
  dir = mkdtempSync(join(packageDir, '.readme-example-snippets-'));
  runnable.forEach((s, n) => {
    const base = join(dir, `snippet-${n}`);
    const source = `${base}${isTs(s) ? '.ts' : '.mjs'}`;
    writeFileSync(source, `${s.code}\n`);
    files.set(s, { source, run: isTs(s) ? `${base}.js` : source });
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
    outDir: dir,
    rootDir: dir,
  };
  const roots = [...files.entries()].filter(([s]) => isTs(s)).map(([, f]) => f.source);
  const program = ts.createProgram({ rootNames: roots, options });
  const emitted = program.emit();
  for (const d of [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics]) {
    const file = d.file?.fileName ?? '(global)';
    const text = ts.formatDiagnostics([d], { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' });
    diagnostics.set(file, (diagnostics.get(file) ?? '') + text);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('documentation snippets', () => {
  it('there are snippets to run on the home page, in the READMEs and in the guides', () => {
    const pages = new Set(runnable.map((s) => s.page));
    expect(pages).toContain('README.md');
    expect([...pages].some((p) => p.startsWith('packages/'))).toBe(true);
    expect([...pages].some((p) => p.startsWith('docs/guides/'))).toBe(true);
  });

  it.each(runnable.map((s) => [label(s), s] as const))('%s compiles (strict) and runs', (_, s) => {
    const f = files.get(s);
    if (f === undefined) throw new Error(`no file for ${label(s)}`);
    if (isTs(s)) expect(diagnostics.get(f.source) ?? '', 'TypeScript errors').toBe('');
    const r = spawnSync(process.execPath, [f.run], { cwd: packageDir, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr, 'stderr').toBe('');
    expect(r.status, `exit code (stderr: ${r.stderr})`).toBe(0);
    if (s.prints !== null) expect(r.stdout.trimEnd(), 'what the page says it prints').toBe(s.prints.trimEnd());
  });

  it.each(fragments.map((s) => [label(s), s] as const))('%s is a fragment that says what it leaves out', (_, s) => {
    expect(s.code.split('\n')[0]).toMatch(/^\/\/ \S/);
  });

  it('the home page has a complete program of about ten lines, and shows its output', () => {
    const home = runnable.find((s) => s.page === 'README.md');
    expect(home).toBeDefined();
    const lines = (home?.code ?? '').split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(home?.prints ?? '').toContain('tensor(');
  });
});
