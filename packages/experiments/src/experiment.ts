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
import { sweepRun, sweepSteps } from './sweep.js';
import type { SweepRunConfig, SweepRunResult } from './sweep.js';
import type { RunConfig, RunResult } from './train.js';
import { trainRun } from './train.js';

/** One unit of work for a worker: an MLP run or a run of the batch-size sweep. */
export type Job = { readonly kind: 'mlp'; readonly config: RunConfig } | { readonly kind: 'sweep'; readonly config: SweepRunConfig };

/** What a job gives. */
export type JobResult = { readonly kind: 'mlp'; readonly result: RunResult } | { readonly kind: 'sweep'; readonly result: SweepRunResult };

/** Runs one job in this thread. */
export function runJob(job: Job, data: { train: Dataset; test: Dataset }, onStep: (done: number) => void): JobResult {
  return job.kind === 'mlp' ? { kind: 'mlp', result: trainRun(job.config, data, onStep) } : { kind: 'sweep', result: sweepRun(job.config, data, onStep) };
}

/** The number of progress units (steps) of a job. */
export const jobSteps = (job: Job): number => (job.kind === 'mlp' ? job.config.steps : sweepSteps(job.config));

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
  /** Every MLP run: variants × learning rates × seeds, then the ablations × seeds. */
  readonly runs: readonly RunResult[];
  /** Every run of the batch-size sweep: normalizers × batch sizes × seeds. */
  readonly sweep: readonly SweepRunResult[];
  readonly landscapeSummary: readonly LandscapeSummary[];
  readonly files: readonly string[];
}

/** The MLP runs of an experiment: every variant at every learning rate, the ablations at the largest, each once per seed. */
export function runConfigs(config: ExperimentConfig): RunConfig[] {
  const top = Math.max(...config.learningRates);
  const runs: RunConfig[] = [];
  const pairs: [ExperimentConfig['variants'][number], number][] = [
    ...config.variants.flatMap((v) => config.learningRates.map((lr): [typeof v, number] => [v, lr])),
    ...config.ablations.map((v): [typeof v, number] => [v, top]),
  ];
  for (const seed of config.seeds) {
    for (const [variant, lr] of pairs) {
      const probed = config.landscapeVariants.includes(variant);
      runs.push({
        variant,
        lr,
        momentum: config.momentum,
        steps: config.steps,
        batchSize: config.batchSize,
        evalEvery: config.evalEvery,
        landscapeEvery: probed ? config.landscapeEvery : 0,
        landscapeEtas: config.landscapeEtas,
        model: { inputs: 784, hidden: config.hidden, depth: config.depth, classes: 10, seed: 100 * seed, dtype: 'float32', noise: { ...config.noise, seed: config.noise.seed + seed } },
        seed,
        dataSeed: seed,
        traceSteps: lr === top ? config.traceSteps : 0,
        gradCheckSteps: lr === top ? config.gradCheckSteps : [],
        curvature: probed ? config.curvature : null,
        preciseBn: variant === 'batch-norm' ? config.preciseBn : null,
      });
    }
  }
  return runs;
}

/** The runs of the batch-size sweep: every normalizer at every batch size, once per seed. */
export function sweepConfigs(config: ExperimentConfig): SweepRunConfig[] {
  const s = config.sweep;
  return config.seeds.flatMap((seed) =>
    s.norms.flatMap((norm) =>
      s.batchSizes.map((batchSize) => ({
        norm,
        batchSize,
        seed,
        samples: s.samples,
        baseLr: s.baseLr,
        baseBatch: s.baseBatch,
        momentum: s.momentum,
        channels: s.channels,
        channelsPerGroup: s.channelsPerGroup,
        statsMomentum: s.statsMomentum,
        preciseBn: s.preciseBn,
      })),
    ),
  );
}

/**
 * A rough cost of a job (for scheduling the longest first, so that the two workers finish
 * together): MLP steps weighted by variant and by the probes, sweep runs by samples and steps.
 */
export function jobCost(job: Job): number {
  if (job.kind === 'sweep') return job.config.samples / 40 + sweepSteps(job.config) * 0.6;
  const c = job.config;
  const variant: Record<string, number> = { 'weight-norm': 1.6, 'weight-norm-no-init': 1.6, 'noisy-batch-norm': 1.3, 'batch-norm': 1.2, 'layer-norm': 1.1, 'layer-norm-no-bias': 1.1, none: 1 };
  const probes = c.landscapeEvery > 0 ? (c.steps / c.landscapeEvery) * c.landscapeEtas.length * 1.2 : 0;
  const curvature = c.curvature === null ? 0 : (c.steps / c.curvature.every + 1) * c.curvature.maxIterations * 3;
  return c.steps * variant[c.variant] + probes + curvature;
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

async function runAll(jobs: Job[], data: { train: Dataset; test: Dataset }, workers: number, progress: Progress): Promise<JobResult[]> {
  const results: JobResult[] = new Array(jobs.length);
  // Longest first, so that the workers finish at about the same time.
  const queue = jobs.map((_, k) => k).sort((a, b) => jobCost(jobs[b]) - jobCost(jobs[a]));
  if (workers <= 0) {
    for (const k of queue) {
      results[k] = runJob(jobs[k], data, (done) => progress.update(k, done));
      progress.finish(k, jobSteps(jobs[k]));
    }
    return results;
  }
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(workerUrl, { workerData: { train: data.train, test: data.test } });
      const feed = (): void => {
        if (next >= queue.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const index = queue[next++];
        worker.postMessage({ index, job: jobs[index] });
      };
      worker.on('message', (m: { type: 'progress'; index: number; done: number } | { type: 'result'; index: number; result: JobResult }) => {
        if (m.type === 'progress') {
          progress.update(m.index, m.done);
        } else {
          results[m.index] = m.result;
          progress.finish(m.index, jobSteps(jobs[m.index]));
          feed();
        }
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, one));
  return results;
}

/**
 * Runs the whole experiment: every MLP variant at every learning rate and seed (with the
 * landscape and curvature probes, the traces, the gradient checks and PreciseBN), the
 * batch-size sweep, the reparameterization check, then writes `results.json`, `summary.md`
 * and the SVG plots into `outDir`.
 */
export async function runExperiment(config: ExperimentConfig, options: ExperimentOptions): Promise<ExperimentResults> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const data = loadMnist(config.trainPerClass, config.testPerClass, config.dataSeed);
  const mlp = runConfigs(config);
  const sweep = sweepConfigs(config);
  const jobs: Job[] = [...mlp.map((c): Job => ({ kind: 'mlp', config: c })), ...sweep.map((c): Job => ({ kind: 'sweep', config: c }))];
  const progress = new Progress(jobs.map(jobSteps), options.progress);
  const done = await runAll(jobs, data, options.workers, progress);
  progress.end();
  // Results in the order of the configurations (the jobs' order), whatever order they ran in.
  const runs = done.flatMap((r) => (r.kind === 'mlp' ? [r.result] : []));
  const sweepResults = done.flatMap((r) => (r.kind === 'sweep' ? [r.result] : []));
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
    sweep: sweepResults,
    landscapeSummary: runs.map(summarizeLandscape).filter((s): s is LandscapeSummary => s !== null),
    files: [...PLOT_FILES, 'summary.md', 'results.json'],
  };
  await writeOutputs(results, options.outDir, options.docsMediaDir);
  return results;
}

/** The files every run writes. */
export const PLOT_FILES = [
  'training-loss.svg',
  'test-accuracy.svg',
  'landscape-loss.svg',
  'landscape-gradient.svg',
  'landscape-beta.svg',
  'curvature.svg',
  'diagnosis.svg',
  'precise-bn.svg',
  'batch-size.svg',
] as const;

/** Rounds every non-integer number to 6 significant digits (keeps `results.json` small; the summary and plots are rendered from the rounded values). */
function rounded(_key: string, value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
}

/**
 * Writes `results.json`, then renders the plots and `summary.md` **from what was written**
 * (so both can be reproduced from the file alone with `--replot`), and copies the plots into
 * `docsMediaDir` when given.
 */
export async function writeOutputs(results: ExperimentResults, outDir: string, docsMediaDir?: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, rounded)}\n`;
  writeFileSync(join(outDir, 'results.json'), json);
  const saved = JSON.parse(json) as ExperimentResults;
  const specs = allSpecs(saved.runs, saved.sweep, saved.config);
  for (const name of PLOT_FILES) writeFileSync(join(outDir, name), await renderSvg(specs[name]));
  writeFileSync(join(outDir, 'summary.md'), renderSummary(saved));
  if (docsMediaDir !== undefined) {
    mkdirSync(docsMediaDir, { recursive: true });
    for (const name of PLOT_FILES) copyFileSync(join(outDir, name), join(docsMediaDir, name));
  }
}

/** `summary.md` of saved results. */
export function renderSummary(results: ExperimentResults): string {
  return summaryMarkdown(results.config, results.runs, results.sweep, results.reparameterization, results.wallSeconds, results.cpuSeconds);
}
