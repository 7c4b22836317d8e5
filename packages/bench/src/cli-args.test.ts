// `npm run bench -- FLAGS` runs `node packages/bench/dist/main.js FLAGS` after the build: the
// flags reach the benchmark itself (not turbo), so --help prints the benchmark's usage.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { USAGE } from './main.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('the benchmark takes its arguments directly', () => {
  it('node dist/main.js --help prints the usage and exits 0, running nothing', () => {
    const r = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(USAGE.trim());
    expect(USAGE.split('\n')[0]).toBe('usage: npm run bench -- [options]          (or, in packages/bench: node dist/main.js [options])');
  });

  it('an unknown flag is refused with the usage', () => {
    const r = spawnSync(process.execPath, [main, '--frobnicate'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('usage: npm run bench');
  });
});
