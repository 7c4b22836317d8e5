import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { PLOT_FILES, renderSummary } from './experiment.js';
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
    for (const name of [...PLOT_FILES, 'summary.md', 'results.json']) {
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

  it('has a run per variant, learning rate and seed (ablations at the largest rate), a sweep run per normalizer, batch size and seed, and only finite numbers', () => {
    const c = results.config;
    expect(results.runs).toHaveLength(c.seeds.length * (c.variants.length * c.learningRates.length + c.ablations.length));
    expect(results.sweep).toHaveLength(c.seeds.length * c.sweep.norms.length * c.sweep.batchSizes.length);
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
    for (const run of results.sweep) {
      expect(run.testError).toBeGreaterThanOrEqual(0);
      expect(run.testError).toBeLessThanOrEqual(1);
      expect(run.steps).toBe(Math.ceil(c.sweep.samples / run.batchSize));
    }
  });

  it('probes the landscape and the curvature of none and batch norm, traces and checks the largest rate, recalibrates batch norm', () => {
    const c = results.config;
    const top = Math.max(...c.learningRates);
    for (const run of results.runs) {
      const probed = c.landscapeVariants.includes(run.variant);
      expect(run.landscape !== null, `${run.variant} ${run.lr}`).toBe(probed);
      expect(run.curvature !== null, `${run.variant} ${run.lr}`).toBe(probed);
      expect(run.trace !== null, `${run.variant} ${run.lr}`).toBe(run.lr === top);
      expect(run.preciseBn !== null, `${run.variant} ${run.lr}`).toBe(run.variant === 'batch-norm' && run.divergedAtStep === null);
      if (run.curvature !== null && run.divergedAtStep === null) expect(run.curvature.length).toBe(c.steps / c.curvature.every + 1);
      if (run.lr === top && run.divergedAtStep === null) {
        expect(run.trace).toHaveLength(c.traceSteps);
        // The gradient the optimizer uses is the gradient of the loss (float64 finite differences).
        for (const check of run.gradChecks) expect(check.relativeError, `${run.variant} step ${check.step}`).toBeLessThan(1e-4);
      }
    }
  });

  it('summary.md is the rendering of results.json', () => {
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toBe(renderSummary(results));
  });

  it('quotes the tables in summary.md', () => {
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    for (const heading of ['## Final test accuracy', '## The failures', '## Landscape', '## Curvature', '## PreciseBN', '## Batch size', '## Reparameterization']) {
      expect(md, heading).toContain(heading);
    }
    expect(md).toContain('| batch-norm |');
    expect(md).toContain('| group-norm |');
  });
});
