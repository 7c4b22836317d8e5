// The committed results of the full run (packages/experiments/results/) hang together: the
// summary the guides quote is exactly what results.json renders to, the plots are those of
// the same run, and the run is the full configuration with at least 5 seeds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FULL } from './config.js';
import { PLOT_FILES, renderSummary } from './experiment.js';
import type { ExperimentResults } from './experiment.js';

const dir = fileURLToPath(new URL('../results/', import.meta.url));
const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ExperimentResults;

describe('the committed full-run results', () => {
  it('come from the full configuration as it is now, with at least 5 seeds', () => {
    expect(results.config).toEqual(JSON.parse(JSON.stringify(FULL)));
    expect(results.config.seeds.length).toBeGreaterThanOrEqual(5);
    expect(results.runs.length).toBe(FULL.seeds.length * (FULL.variants.length * FULL.learningRates.length + FULL.ablations.length));
    expect(results.sweep.length).toBe(FULL.seeds.length * FULL.sweep.norms.length * FULL.sweep.batchSizes.length);
  });

  it('summary.md is the rendering of results.json', () => {
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toBe(renderSummary(results));
  });

  it('every plot of the run is there', () => {
    for (const name of PLOT_FILES) expect(readFileSync(join(dir, name), 'utf8').startsWith('<svg'), name).toBe(true);
  });
});
