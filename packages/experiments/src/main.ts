#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FULL, QUICK } from './config.js';
import { readFileSync } from 'node:fs';
import { runExperiment, writeOutputs } from './experiment.js';
import type { ExperimentResults } from './experiment.js';

const HELP = `Usage: npm run experiment -- [--quick] [--out DIR] [--docs] [--workers N] [--no-progress]

  --quick        the reduced run (small networks, few steps, 2 seeds; a few seconds)
  --out DIR      where to write results (default: packages/experiments/results, or a
                 results-quick folder next to it with --quick)
  --docs         also copy the SVGs into docs/guides/media/ for the guide
  --workers N    worker threads (default: min(2, cores)); 0 runs in the main thread
                 (results do not depend on it: every run has its own seeded streams)
  --no-progress  no progress bar on stderr
  --replot DIR   no training: re-render the plots and summary.md from DIR/results.json
                 (into --out, default DIR)
`;

/** The command line: parses the flags, runs, prints the summary path. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      docs: { type: 'boolean', default: false },
      workers: { type: 'string' },
      'no-progress': { type: 'boolean', default: false },
      replot: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const docsMediaDir = values.docs ? join(packageDir, '..', '..', 'docs', 'guides', 'media') : undefined;
  if (values.replot !== undefined) {
    const from = resolve(values.replot);
    const saved = JSON.parse(readFileSync(join(from, 'results.json'), 'utf8')) as ExperimentResults;
    const to = resolve(values.out ?? from);
    await writeOutputs(saved, to, docsMediaDir);
    process.stdout.write(`re-rendered ${saved.files.join(', ')} in ${to}\n`);
    return 0;
  }
  const config = values.quick ? QUICK : FULL;
  const outDir = resolve(values.out ?? join(packageDir, values.quick ? 'results-quick' : 'results'));
  const workers = values.workers === undefined ? Math.min(2, availableParallelism()) : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`--workers: expected an integer ≥ 0, got ${values.workers}`);
  const results = await runExperiment(config, { outDir, workers, progress: !values['no-progress'], docsMediaDir });
  process.stdout.write(`${config.name} run done in ${results.wallSeconds.toFixed(1)} s (CPU ${results.cpuSeconds.toFixed(1)} s); wrote ${results.files.join(', ')} to ${outDir}\n`);
  if (docsMediaDir !== undefined) process.stdout.write(`copied the SVGs to ${docsMediaDir}\n`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
