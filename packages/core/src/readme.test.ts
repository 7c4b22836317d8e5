import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// @normkit/testkit depends on core, so core runs its README example itself.
describe('README', () => {
  it('runs the usage example as written', () => {
    const packageDir = new URL('..', import.meta.url).pathname;
    const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const dir = mkdtempSync(join(packageDir, '.readme-example-'));
    try {
      writeFileSync(join(dir, 'example.mjs'), code as string);
      const out = execFileSync(process.execPath, [join(dir, 'example.mjs')], { cwd: packageDir, encoding: 'utf8' });
      // ± 0.009765625 around 1e4 (0.01 as float32 there): variance 0.009765625² = 9.537e-5, not 0
      expect(out).toContain("mean [ 10000, 10000 ] variance [ '9.537e-5', '9.537e-5' ]");
      expect(out).toContain('variance 2 = 2');
      expect(out).toContain('y [ -1, 0, 1, -10, 0, 10 ]');
      expect(out).toContain('true E_REGISTRY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
