import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs the first ```js block of README.md as an ES module from inside the package folder. */
function runFirstJsBlock(): { status: number | null; stdout: string; stderr: string } {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const match = /```js\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error('README.md has no ```js block');
  const dir = mkdtempSync(join(packageDir, '.readme-example-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, match[1]);
    const result = spawnSync(process.execPath, [file], { cwd: packageDir, encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('the README example runs with node and prints a passing report', () => {
  const { status, stdout, stderr } = runFirstJsBlock();
  expect(stderr).toBe('');
  expect(status).toBe(0);
  expect(stdout).toContain('PASS');
  expect(stdout.split('\n')[0]).toBe('gradcheck center@1.0.0: PASS');
}, 30_000);
