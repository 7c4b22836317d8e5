import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * The first fenced ```js block of a package README (or, when it has none, the first ```ts
 * block), run as an ES module from inside the package folder (so `import … from '@normkit/…'`
 * resolves as it does for a user). A TypeScript block is transpiled first (its types are
 * checked, in strict mode, by `@normkit/docs-check`).
 *
 * @param packageDir - the package folder holding README.md
 * @returns what the example printed on stdout
 * @throws Error with the example's stderr when it exits non-zero or there is no such block
 */
export function runReadmeExample(packageDir: string): string {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const match = /```(js)\n([\s\S]*?)```/.exec(readme) ?? /```(ts)\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error(`${packageDir}/README.md has no \`\`\`js or \`\`\`ts example`);
  const [, lang, code] = match;
  const js =
    lang === 'ts'
      ? ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false } }).outputText
      : code;
  const dir = mkdtempSync(join(packageDir, '.readme-example-'));
  const file = join(dir, 'example.mjs');
  writeFileSync(file, js);
  try {
    return execFileSync(process.execPath, [file], { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
