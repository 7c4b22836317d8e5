// The repository's npm setup, as CONTRIBUTING.md describes it: npm prints no warning about
// this project's configuration; `npm start` builds only what the normkit command needs; the
// bench and experiment scripts pass their arguments to the program, not to turbo; every
// root script is listed in CONTRIBUTING.md.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './paths.js';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

describe('the npm configuration', () => {
  it('npm prints no warning about this project (no unknown .npmrc keys)', () => {
    const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('"normkit-monorepo"');
    expect(r.stderr).not.toMatch(/npm warn/i);
    expect(readFileSync(join(repoRoot, '.npmrc'), 'utf8').trim().split('\n')).toEqual(['engine-strict=true']);
  });

  it('every dependency install script is denied (npm ci works offline and prints no install-scripts warning)', () => {
    expect(manifest.allowScripts).toEqual({ 'core-js': false, 'onnxruntime-node': false, esbuild: false, protobufjs: false });
  });
});

describe('the root scripts', () => {
  it('npm start builds the normkit command and the packages it imports, not every package', () => {
    expect(manifest.scripts.start).toBe('node scripts/start.mjs');
    const start = readFileSync(join(repoRoot, 'scripts', 'start.mjs'), 'utf8');
    expect(start).toContain("'--filter=@normkit/cli...'");
    expect(start).toMatch(/\[\$\{seen\}\/\$\{total\}\]/); // progress: one line per package
  });

  it.each(['bench', 'experiment'])('npm run %s -- FLAGS builds its package, then hands FLAGS to the program', (name) => {
    const dir = name === 'bench' ? 'bench' : 'experiments';
    const script = manifest.scripts[name];
    const [build, run] = script.split(' && ');
    expect(build).toBe(`turbo run build --filter=@normkit/${dir}... --output-logs=errors-only`);
    // npm appends FLAGS to the script: they must land on the node command, last.
    expect(run).toBe(`node packages/${dir}/dist/main.js`);
  });

  it('CONTRIBUTING.md lists every root script', () => {
    const contributing = readFileSync(join(repoRoot, 'CONTRIBUTING.md'), 'utf8');
    for (const name of Object.keys(manifest.scripts)) {
      const invocation = name === 'test' || name === 'start' ? `npm ${name}` : `npm run ${name}`;
      expect(contributing, invocation).toContain(invocation);
    }
  });
});
