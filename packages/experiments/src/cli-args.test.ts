// `npm run experiment -- FLAGS` runs `node packages/experiments/dist/main.js FLAGS` after the
// build: the flags reach the experiment itself, so --help prints its help and runs nothing.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('the experiment takes its arguments directly', () => {
  it('node dist/main.js --help prints the help and exits 0', () => {
    const r = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Usage: npm run experiment -- [--quick] [--out DIR] [--docs] [--workers N] [--no-progress]');
  });
});
