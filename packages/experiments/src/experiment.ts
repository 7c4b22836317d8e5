import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ExperimentConfig } from './config.js';
import type { Dataset } from './data.js';
import { loadMnist } from './data.js';
import { allSpecs, renderSvg } from './plots.js';
import { checkReparameterization } from './reparam.js';
import type { ReparamCheck } from './reparam.js';
import { summarizeLandscape, summaryMarkdown } from './summary.js';
import type { LandscapeSummary } from './summary.js';
import type { RunConfig, RunResult } from './train.js';
import { trainRun } from './train.js';

/** How to run an experiment. */
export interface ExperimentOptions {
  /** Where results go (created if missing). */
  readonly outDir: string;
  /** Parallel worker threads; 0 runs everything in this thread. */
  readonly workers: number;
  /** Draw a progress bar on stderr. */
  readonly progress: boolean;
  /** Also copy the SVGs into this folder (the docs guide's `media/`). */
  readonly docsMediaDir?: string;
}

/** The contents of `results.json`. */
export interface ExperimentResults {
  readonly config: ExperimentConfig;
  readonly environment: { readonly node: string; readonly platform: string; readonly workers: number };
  readonly wallSeconds: number;
  /** CPU time of the whole process, every thread (user + system). */
  readonly cpuSeconds: number;
  readonly reparameterization: ReparamCheck;
  readonly runs: readonly RunResult[];
  readonly landscapeSummary: readonly LandscapeSummary[];
  readonly files: readonly string[];
}

/** The runs of an experiment, longest first (weight norm's dense kernel is the slowest). */
export function runConfigs(config: ExperimentConfig): RunConfig[] {
  const cost: Record<string, number> = { 'weight-norm': 5, 'noisy-batch-norm': 4, 'batch-norm': 3, 'layer-norm': 2, none: 1 };
  const runs: RunConfig[] = [];
  for (const variant of config.variants) {
    for (const lr of config.learningRates) {
      runs.push({
        variant,
        lr,
        momentum: config.momentum,
        steps: config.steps,
        batchSize: config.batchSize,
        evalEvery: config.evalEvery,
        landscapeEvery: config.landscapeVariants.includes(variant) ? config.landscapeEvery : 0,
        landscapeEtas: config.landscapeEtas,
        model: { inputs: 784, hidden: config.hidden, depth: config.depth, classes: 10, seed: config.seeds.weights, dtype: 'float32', noise: config.noise },
        dataSeed: config.seeds.batches,
      });
    }
  }
  return runs.sort((a, b) => cost[b.variant] - cost[a.variant]);
}

class Progress {
  readonly #total: number;
  readonly #done: number[];
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #finished = 0;
  #last = 0;
  #lastPercent = -1;

  constructor(perRun: number[], enabled: boolean) {
    this.#total = perRun.reduce((a, b) => a + b, 0);
    this.#done = perRun.map(() => 0);
    this.#enabled = enabled;
  }

  update(run: number, done: number): void {
    this.#done[run] = done;
    this.#draw(false);
  }

  finish(run: number, steps: number): void {
    this.#done[run] = steps;
    this.#finished++;
    this.#draw(true);
  }

  end(): void {
    if (this.#enabled && process.stderr.isTTY) process.stderr.write('\n');
  }

  #draw(force: boolean): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#last < 250) return;
    this.#last = now;
    const done = this.#done.reduce((a, b) => a + b, 0);
    const fraction = this.#total === 0 ? 1 : done / this.#total;
    const elapsed = (now - this.#started) / 1000;
    const eta = fraction > 0.02 ? (elapsed * (1 - fraction)) / fraction : NaN;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * fraction).toFixed(0).padStart(3)}%  ` +
      `${this.#finished}/${this.#done.length} runs  ${clock(elapsed)} elapsed${Number.isFinite(eta) ? `, ~${clock(eta)} left` : ''}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}`);
    } else {
      // Not a terminal (CI, a log file): one line per 10 % instead of carriage returns.
      const percent = Math.floor(fraction * 10);
      if (percent !== this.#lastPercent || force) {
        this.#lastPercent = percent;
        process.stderr.write(`${line}\n`);
      }
    }
  }
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

async function runAll(configs: RunConfig[], data: { train: Dataset; test: Dataset }, workers: number, progress: Progress): Promise<RunResult[]> {
  const results: RunResult[] = new Array(configs.length);
  if (workers <= 0) {
    configs.forEach((c, k) => {
      results[k] = trainRun(c, data, (done) => progress.update(k, done));
      progress.finish(k, c.steps);
    });
    return results;
  }
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(workerUrl, { workerData: { train: data.train, test: data.test } });
      const feed = (): void => {
        if (next >= configs.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const index = next++;
        worker.postMessage({ index, config: configs[index] });
      };
      worker.on('message', (m: { type: 'progress'; index: number; done: number } | { type: 'result'; index: number; result: RunResult }) => {
        if (m.type === 'progress') {
          progress.update(m.index, m.done);
        } else {
          results[m.index] = m.result;
          progress.finish(m.index, configs[m.index].steps);
          feed();
        }
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(workers, configs.length) }, one));
  return results;
}

/**
 * Runs the whole experiment: every variant at every learning rate (with the landscape
 * probes), the reparameterization check, then writes `results.json`, `summary.md` and the
 * SVG plots into `outDir`.
 */
export async function runExperiment(config: ExperimentConfig, options: ExperimentOptions): Promise<ExperimentResults> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const data = loadMnist(config.trainPerClass, config.testPerClass, config.seeds.data);
  const configs = runConfigs(config);
  const progress = new Progress(configs.map((c) => c.steps), options.progress);
  const unordered = await runAll(configs, data, options.workers, progress);
  progress.end();
  // Report in a stable order: variants as configured, then learning rates.
  const runs = config.variants.flatMap((v) => config.learningRates.map((lr) => unordered.find((r) => r.variant === v && r.lr === lr) as RunResult));
  const reparameterization = checkReparameterization();
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const results: ExperimentResults = {
    config,
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, workers: options.workers },
    wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    reparameterization,
    runs,
    landscapeSummary: runs.map(summarizeLandscape).filter((s): s is LandscapeSummary => s !== null),
    files: [...PLOT_FILES, 'summary.md', 'results.json'],
  };
  await writeOutputs(results, options.outDir, options.docsMediaDir);
  return results;
}

/** The files every run writes. */
export const PLOT_FILES = ['training-loss.svg', 'test-accuracy.svg', 'landscape-loss.svg', 'landscape-gradient.svg', 'landscape-beta.svg'] as const;

/**
 * Writes the plots, `summary.md` and `results.json` of finished results into `outDir`, and
 * copies the plots into `docsMediaDir` when given. `--replot` calls it on a saved
 * `results.json`, so the figures can be restyled without training again.
 */
export async function writeOutputs(results: ExperimentResults, outDir: string, docsMediaDir?: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const specs = allSpecs(results.runs, results.config.smoothing);
  for (const name of PLOT_FILES) writeFileSync(join(outDir, name), await renderSvg(specs[name]));
  writeFileSync(join(outDir, 'summary.md'), summaryMarkdown(results.config, results.runs, results.reparameterization, results.wallSeconds, results.cpuSeconds));
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  if (docsMediaDir !== undefined) {
    mkdirSync(docsMediaDir, { recursive: true });
    for (const name of PLOT_FILES) copyFileSync(join(outDir, name), join(docsMediaDir, name));
  }
}
