import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import type { ExperimentResults } from './experiment.js';

// The reduced run end to end, as `npm run experiment -- --quick` does it, into a temp dir.
// Claims about which variant wins belong in the report, not here: these assertions only
// say that the pipeline completes and produces finite numbers and valid SVG.
describe('npm run experiment -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'normkit-experiment-'));
  let results: ExperimentResults;

  beforeAll(async () => {
    const code = await main(['--quick', '--out', out, '--workers', '0', '--no-progress']);
    expect(code).toBe(0);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ExperimentResults;
  }, 120_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes the plots, the summary and the JSON', () => {
    for (const name of ['training-loss.svg', 'test-accuracy.svg', 'landscape-loss.svg', 'landscape-gradient.svg', 'landscape-beta.svg', 'summary.md', 'results.json']) {
      expect(existsSync(join(out, name)), name).toBe(true);
    }
  });

  it('renders every plot as SVG', () => {
    for (const name of results.files.filter((f) => f.endsWith('.svg'))) {
      const svg = readFileSync(join(out, name), 'utf8');
      expect(svg.startsWith('<svg'), name).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>'), name).toBe(true);
      expect(svg).toContain('<path');
    }
  });

  it('has a run per variant and learning rate, and only finite numbers in the JSON', () => {
    expect(results.runs).toHaveLength(results.config.variants.length * results.config.learningRates.length);
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'number') expect(Number.isFinite(v), path).toBe(true);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(results, 'results');
    for (const run of results.runs) {
      expect(run.evals.length).toBeGreaterThan(0);
      expect(run.finalTestAccuracy).toBeGreaterThanOrEqual(0);
      expect(run.finalTestAccuracy).toBeLessThanOrEqual(1);
    }
    const probed = results.runs.filter((r) => r.landscape !== null);
    expect(probed.map((r) => r.variant).sort()).toEqual(['batch-norm', 'batch-norm', 'none', 'none']);
  });

  it('quotes the tables in summary.md', () => {
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('## Final test accuracy');
    expect(md).toContain('| batch-norm |');
    expect(md).toContain('## Landscape');
  });
});
