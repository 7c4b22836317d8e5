import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The first fenced ```js block of a package README, run as an ES module from inside
 * the package folder (so `import … from '@normkit/…'` resolves as it does for a user).
 *
 * @param packageDir - the package folder holding README.md
 * @returns what the example printed on stdout
 * @throws Error with the example's stderr when it exits non-zero or there is no ```js block
 */
export function runReadmeExample(packageDir: string): string {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const match = /```js\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error(`${packageDir}/README.md has no \`\`\`js example`);
  const dir = mkdtempSync(join(packageDir, '.readme-example-'));
  const file = join(dir, 'example.mjs');
  writeFileSync(file, match[1]);
  try {
    return execFileSync(process.execPath, [file], { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
