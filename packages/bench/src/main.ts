#!/usr/bin/env node
/**
 * The normkit benchmark: every workload on every implementation, in one process and
 * one run, outputs checked against normkit (TypeScript kernels) before anything is timed.
 *
 * ```
 * node dist/main.js [--quick] [--out FILE] [--only ID[,ID…]] [--impls NAME[,NAME…]] [--budget MS] [--chart FILE | --no-chart]
 * node dist/main.js --chart-from RESULTS.json [--chart FILE]
 * node --expose-gc dist/main.js --memory [--steps N] [--quick]
 * ```
 *
 * @packageDocumentation
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listKernelRegistrations } from '@normkit/core';
import type { ChartRunFacts } from './chart.js';
import { ratioChartSpec, renderSvg } from './chart.js';
import { compareOutputs, tolerance } from './check.js';
import { makeWorkloadData } from './data.js';
import type { HarnessOptions } from './harness.js';
import type { Timed } from './harness.js';
import { FULL_HARNESS, QUICK_HARNESS, measureInterleaved } from './harness.js';
import type { CRefRun } from './impls/c-ref.js';
import { cRefLineFor, runCReference } from './impls/c-ref.js';
import { copyCeiling } from './impls/copy.js';
import { jsReference } from './impls/js-ref.js';
import { normkitDefault, normkitKernel, normkitTs } from './impls/normkit.js';
import { disposeWasmBackends, normkitWasm, normkitWasmCopy, normkitWasmTwoThreads } from './impls/wasm.js';
import { loadOrt, onnxRuntime } from './impls/ort.js';
import type { TfInfo } from './impls/tfjs.js';
import { loadTf, tfjsImplementation } from './impls/tfjs.js';
import type { ImplName, Implementation, Outputs, PreparedRun } from './impls/types.js';
import type { MemoryReport } from './memory.js';
import { MEMORY_DEFAULTS, exposedGc, formatMemoryReport, runMemoryCheck } from './memory.js';
import type { RatioRow, ResultRow, SkippedRow, TargetVerdict } from './report.js';
import { evaluateTargets, formatMs, formatRatios, formatTargets, formatWorkloadTable, sameRunRatios } from './report.js';
import type { Workload } from './workloads.js';
import { WORKLOAD_IDS, bytesModelText, minimalBytes, workloads } from './workloads.js';

/** Where the JSON goes without `--out`: `packages/bench/results/latest.json`. */
export const DEFAULT_OUT = fileURLToPath(new URL('../results/latest.json', import.meta.url));

/** Where the memory check's JSON goes without `--out`: `packages/bench/results/memory.json`. */
export const DEFAULT_MEMORY_OUT = fileURLToPath(new URL('../results/memory.json', import.meta.url));

/** Where a full run draws its ratio chart: `docs/guides/media/bench-ratios.svg`. */
export const DEFAULT_CHART = fileURLToPath(new URL('../../../docs/guides/media/bench-ratios.svg', import.meta.url));

/** The implementation that every other one is checked against. */
export const REFERENCE_IMPL: ImplName = 'normkit-ts';

/** The implementation every `ratioToDefault` divides by: the public API with no setup. */
export const DEFAULT_IMPL: ImplName = 'normkit-default';

/** Parsed command-line options. */
export interface CliOptions {
  /** Tiny shapes and one or two samples (smoke test). */
  readonly quick: boolean;
  /** The JSON output path. */
  readonly out: string;
  /** Workload ids to run (all when empty). */
  readonly only: readonly string[];
  /** Implementations to run (all when empty; normkit-ts, the reference, always runs). */
  readonly impls: readonly string[];
  /** Time budget per (workload, impl) in ms, overriding the harness default. */
  readonly budgetMs: number | null;
  /** Where to write the ratio chart (`null`: none); see {@link DEFAULT_CHART}. */
  readonly chart: string | null;
  /** Render the chart from this results JSON instead of running the benchmark. */
  readonly chartFrom: string | null;
  /** Run the memory check instead of the benchmark. */
  readonly memory: boolean;
  /** Steps of the memory check. */
  readonly steps: number;
  /** Print usage and exit. */
  readonly help: boolean;
}

/** Every implementation name, in run order (c-ref runs once, before the workloads). */
export const IMPL_NAMES: readonly ImplName[] = [
  'normkit-ts',
  'normkit-default',
  'normkit-kernel',
  'normkit-wasm',
  'normkit-wasm-copy',
  'normkit-wasm-2t',
  'js-ref',
  'c-ref',
  'tfjs-wasm',
  'tfjs-cpu',
  'ort',
  'copy',
];

/** The usage text. */
export const USAGE = `usage: npm run bench -- [options]          (or, in packages/bench: node dist/main.js [options])
  --quick          tiny shapes, 1-2 samples (smoke test; the numbers mean nothing)
  --out FILE       JSON output (default packages/bench/results/latest.json;
                   with --memory: packages/bench/results/memory.json)
  --only IDS       comma-separated workload ids: ${WORKLOAD_IDS.join(', ')}
  --impls NAMES    comma-separated implementations (normkit-ts, the reference, always runs):
                   ${IMPL_NAMES.join(', ')}
  --budget MS      time budget per (workload, impl) pair (default ${FULL_HARNESS.budgetMs})
  --chart FILE     draw the same-run ratios (Vega-Lite, SVG) to FILE; a full run (no --quick,
                   --only or --impls) draws docs/guides/media/bench-ratios.svg by default
  --no-chart       draw no chart
  --chart-from F   draw the chart from a results JSON F (no benchmark run)
  --memory         the memory check instead: ${MEMORY_DEFAULTS.steps} batch-norm NCHW training steps on the
                   default path, heap after forced GCs (needs node --expose-gc;
                   npm run bench:memory -w @normkit/bench)
  --steps N        steps of the memory check (default ${MEMORY_DEFAULTS.steps})
  --help, -h       this text`;

/**
 * Parses the command line.
 *
 * @throws Error for an unknown flag, a missing value, an unknown implementation
 */
export function parseArgs(argv: readonly string[]): CliOptions {
  let quick = false;
  let out: string | null = null;
  let only: string[] = [];
  let impls: string[] = [];
  let budgetMs: number | null = null;
  let chart: string | null | undefined;
  let chartFrom: string | null = null;
  let memory = false;
  let steps = MEMORY_DEFAULTS.steps;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    const list = (): string[] => value().split(',').filter((s) => s.length > 0);
    if (arg === '--quick') quick = true;
    else if (arg === '--out') out = resolve(value());
    else if (arg === '--only') only = only.concat(list());
    else if (arg === '--impls') impls = impls.concat(list());
    else if (arg === '--budget') {
      budgetMs = Number(value());
      if (!(budgetMs > 0)) throw new Error(`--budget: expected a positive number of ms`);
    } else if (arg === '--chart') chart = resolve(value());
    else if (arg === '--no-chart') chart = null;
    else if (arg === '--chart-from') chartFrom = resolve(value());
    else if (arg === '--memory') memory = true;
    else if (arg === '--steps') {
      steps = Number(value());
      if (!(Number.isInteger(steps) && steps > 0)) throw new Error(`--steps: expected a positive integer`);
    } else if (arg === '--help' || arg === '-h') help = true;
    else throw new Error(`unknown argument '${arg}'\n${USAGE}`);
  }
  for (const name of impls) {
    if (!IMPL_NAMES.includes(name as ImplName)) throw new Error(`unknown implementation '${name}'; expected one of ${IMPL_NAMES.join(', ')}`);
  }
  const fullRun = !quick && only.length === 0 && impls.length === 0;
  return {
    quick,
    out: out ?? (memory ? DEFAULT_MEMORY_OUT : DEFAULT_OUT),
    only,
    impls,
    budgetMs,
    chart: chart === undefined ? (fullRun || chartFrom !== null ? DEFAULT_CHART : null) : chart,
    chartFrom,
    memory,
    steps,
    help,
  };
}

/** The whole report, as written to JSON. */
export interface BenchReport {
  /** Every timed row (see {@link ResultRow}; `workload`, `impl`, `dtype`, `medianMs`, `gbPerS` first). */
  readonly results: readonly ResultRow[];
  /** `process.version`. */
  readonly node: string;
  /** The CPU model and the number of logical CPUs (`os.cpus()`). */
  readonly cpus: { readonly model: string; readonly count: number };
  /** Rows not timed, and why. */
  readonly skipped: readonly SkippedRow[];
  /** Same-run ratios: default / ts, wasm / c-ref, wasm / ort, default / ort, ts / js-ref. */
  readonly ratios: readonly RatioRow[];
  /** The issues' targets on this run's ratios. */
  readonly targets: readonly TargetVerdict[];
  /** Per workload: the bytes model and bytes per call. */
  readonly workloads: readonly { id: string; dtype: string; shape: readonly number[]; groups: number | null; bytesModel: string; bytes: number }[];
  /** The SVG chart of the ratios written by this run (relative to the repository root when inside it), or `null`. */
  readonly chart: string | null;
  /** Run facts: quick mode, harness settings, library versions, threads, the C reference. */
  readonly environment: {
    readonly quick: boolean;
    readonly date: string;
    readonly platform: string;
    readonly harness: HarnessOptions;
    readonly tfjs: TfInfo | null;
    readonly onnxruntime: string | null;
    readonly threads: string;
    /** The kernel backends registered in core's registry when the run started (name and priority). */
    readonly kernelBackendsAtStart: readonly { readonly backend: string; readonly priority: number }[];
    /** How bench_c was built and run, or why the c-ref rows were skipped (`null`: not requested). */
    readonly cRef: { readonly compiler: string; readonly command: string; readonly checksumsChecked: readonly string[] } | { readonly skipped: string } | null;
    /** `os.loadavg()` (1, 5, 15 min) when the run started and ended: other load skews absolute times. */
    readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  };
}

/** The in-process implementations, in the order they run on each workload (normkit-ts first: it is the reference). */
export function implementations(): Implementation[] {
  return [
    normkitTs,
    normkitDefault,
    normkitKernel,
    normkitWasm,
    normkitWasmCopy,
    normkitWasmTwoThreads,
    jsReference,
    tfjsImplementation('wasm'),
    tfjsImplementation('cpu'),
    onnxRuntime,
    copyCeiling,
  ];
}

/** Where progress and the table go. */
export interface Io {
  /** The table and the targets. */
  readonly print: (text: string) => void;
  /** Progress lines. */
  readonly progress: (text: string) => void;
}

const DEFAULT_IO: Io = {
  print: (text) => process.stdout.write(`${text}\n`),
  progress: (text) => process.stderr.write(`${text}\n`),
};

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** The c-ref row of a workload from bench_c's run, or why there is none. */
function cRefRow(workload: Workload, cRef: CRefRun): { row: Omit<ResultRow, 'ratioToDefault'> } | { skip: string } {
  if (!cRef.ok) return { skip: cRef.reason };
  const at = cRefLineFor(workload);
  if (at === null) return { skip: "bench_c.c has no such workload (it times BN (256, 1024), BN NCHW (32, 64, 56, 56), LN (4096, 768) in float32, full shapes only)" };
  const line = cRef.output.lines.find((l) => l.workload === at.workload && l.phase === at.phase);
  if (line === undefined) return { skip: `bench_c printed no ${at.workload} ${at.phase} line` };
  const bytes = minimalBytes(workload);
  return {
    row: {
      workload: workload.id,
      impl: 'c-ref',
      dtype: workload.dtype,
      medianMs: line.medianMs,
      gbPerS: bytes / (line.medianMs * 1e-3) / 1e9,
      bytesModel: bytesModelText(workload),
      bytes,
      shape: workload.shape,
      minMs: null,
      samples: 9,
      callsPerSample: null,
      stable: false,
      maxRelativeError: null,
      note: `bench_c ${at.workload} ${at.phase}, own check vs float64 C: max|Δ| ${line.maxAbsDiff.toExponential(1)}`,
    },
  };
}

/**
 * Runs every implementation on one workload: set each up, check its outputs against
 * normkit-ts's (the reference), then time all that agree, round-robin, and dispose; the
 * c-ref row (timed by bench_c before the workloads) is added from its run.
 */
async function runWorkload(
  workload: Workload,
  impls: readonly Implementation[],
  cRef: CRefRun | null,
  harness: HarnessOptions,
  io: Io,
): Promise<{ rows: ResultRow[]; skipped: SkippedRow[] }> {
  const data = makeWorkloadData(workload);
  const bytes = minimalBytes(workload);
  const skipped: SkippedRow[] = [];
  const accepted: { impl: Implementation; prepared: PreparedRun; maxRelativeError: number | null }[] = [];
  const tol = tolerance(workload.dtype);
  let reference: Outputs | null = null;
  try {
    for (const impl of impls) {
      const tag = `${workload.id} ${workload.dtype} ${impl.name}`;
      const skip = (reason: string): void => {
        skipped.push({ workload: workload.id, impl: impl.name, dtype: workload.dtype, reason });
        io.progress(`  ${tag}: not timed (${reason})`);
      };
      const unsupported = impl.unsupported(workload);
      if (unsupported !== null) {
        skip(unsupported);
        continue;
      }
      let prepared: PreparedRun;
      try {
        prepared = await impl.prepare(workload, data);
      } catch (error) {
        skip(`setup failed: ${errorMessage(error)}`);
        continue;
      }
      let outputs: Outputs | null;
      try {
        await prepared.beforeSample?.();
        outputs = await prepared.outputs();
      } catch (error) {
        await prepared.dispose();
        skip(`failed: ${errorMessage(error)}`);
        continue;
      }
      let maxRelativeError: number | null = null;
      if (impl.name === REFERENCE_IMPL) {
        reference = outputs;
      } else if (outputs !== null) {
        const agreement = reference === null ? null : compareOutputs(reference, outputs, tol);
        if (agreement === null || !agreement.ok) {
          await prepared.dispose();
          skip(agreement === null ? `no ${REFERENCE_IMPL} reference to check against` : `disagrees with ${REFERENCE_IMPL} (tolerance ${tol} of the output scale): ${agreement.message}`);
          continue;
        }
        maxRelativeError = agreement.worst;
        io.progress(`  ${tag}: agrees with ${REFERENCE_IMPL} (max rel err ${maxRelativeError.toExponential(1)})`);
      }
      accepted.push({ impl, prepared, maxRelativeError });
    }
    io.progress(`  timing ${accepted.map((a) => a.impl.name).join(', ')} (round-robin)…`);
    const timed: Timed[] = accepted.map(({ prepared }) => ({
      run: () => prepared.run(),
      beforeSample: prepared.beforeSample === undefined ? undefined : () => (prepared.beforeSample as () => Promise<void>)(),
    }));
    const measurements = await measureInterleaved(timed, harness);
    const partial: Omit<ResultRow, 'ratioToDefault'>[] = accepted.map(({ impl, maxRelativeError }, i) => {
      const m = measurements[i];
      return {
        workload: workload.id,
        impl: impl.name,
        dtype: workload.dtype,
        medianMs: m.medianMs,
        gbPerS: bytes / (m.medianMs * 1e-3) / 1e9,
        bytesModel: bytesModelText(workload),
        bytes,
        shape: workload.shape,
        minMs: m.minMs,
        samples: m.samplesMs.length,
        callsPerSample: m.callsPerSample,
        stable: m.stable,
        maxRelativeError,
        note: null,
      };
    });
    if (cRef !== null) {
      const c = cRefRow(workload, cRef);
      if ('row' in c) partial.push(c.row);
      else {
        skipped.push({ workload: workload.id, impl: 'c-ref', dtype: workload.dtype, reason: c.skip });
      }
    }
    const defaultMs = partial.find((r) => r.impl === DEFAULT_IMPL)?.medianMs ?? null;
    const rows = partial.map((r): ResultRow => {
      const { workload: id, impl, dtype, medianMs, gbPerS, ...rest } = r;
      return { workload: id, impl, dtype, medianMs, gbPerS, ratioToDefault: defaultMs === null ? null : medianMs / defaultMs, ...rest };
    });
    for (const row of rows) {
      io.progress(`  ${row.impl}: ${formatMs(row.medianMs)} ms${row.ratioToDefault === null ? '' : ` (${row.ratioToDefault.toFixed(2)}× normkit-default)`}`);
    }
    return { rows, skipped };
  } finally {
    for (const { prepared } of accepted) await prepared.dispose();
  }
}

async function onnxRuntimeVersion(): Promise<string | null> {
  try {
    const ort = await loadOrt();
    return ort.env.versions?.common ?? null;
  } catch {
    return null;
  }
}

async function tfInfo(): Promise<TfInfo | null> {
  try {
    return (await loadTf()).info;
  } catch {
    return null;
  }
}

/** The repository root (three levels above this file: packages/bench/{src,dist}). */
const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A path relative to the repository root when it is inside it (as the JSON records it), else as given. */
function repositoryPath(file: string): string {
  const inside = relative(REPOSITORY_ROOT, file);
  return inside.startsWith('..') || isAbsolute(inside) ? file : inside;
}

/** The registered kernel backends (name, priority), one entry per backend. */
function registeredBackends(): { backend: string; priority: number }[] {
  const seen = new Map<string, number>();
  for (const r of listKernelRegistrations()) if (!seen.has(r.backend)) seen.set(r.backend, r.priority);
  return [...seen].map(([backend, priority]) => ({ backend, priority }));
}

/**
 * Draws the same-run ratios of a report as an SVG chart.
 *
 * @param report - a report ({@link BenchReport}) or its JSON
 * @param file - the SVG path
 */
export async function writeRatioChart(report: Pick<BenchReport, 'ratios' | 'node' | 'cpus' | 'environment'>, file: string): Promise<void> {
  const facts: ChartRunFacts = {
    date: report.environment.date,
    node: report.node,
    cpus: `${report.cpus.count}× ${report.cpus.model}`,
    load: [report.environment.loadAverage.start[0], report.environment.loadAverage.end[0]],
    quick: report.environment.quick,
  };
  const svg = await renderSvg(ratioChartSpec(report.ratios, facts));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg.endsWith('\n') ? svg : `${svg}\n`);
}

/** Runs the memory check (`--memory`) and writes its JSON. */
async function memoryMain(cli: CliOptions, io: Io): Promise<MemoryReport> {
  const gc = exposedGc();
  if (gc === null) throw new Error('--memory needs a forced GC: run node with --expose-gc (npm run bench:memory -w @normkit/bench)');
  const options = cli.quick ? { shape: [4, 8, 14, 14], steps: Math.min(cli.steps, 100), warmupSteps: 10, sampleEvery: 25 } : { ...MEMORY_DEFAULTS, steps: cli.steps };
  io.progress(`normkit bench --memory: ${options.steps} steps${cli.quick ? ' (quick)' : ''}; node ${process.version}`);
  const report = await runMemoryCheck(options, gc, io.progress);
  io.print(formatMemoryReport(report));
  mkdirSync(dirname(cli.out), { recursive: true });
  writeFileSync(cli.out, `${JSON.stringify({ node: process.version, date: new Date().toISOString(), ...report }, null, 2)}\n`);
  io.print(`\nwrote ${cli.out}`);
  return report;
}

/**
 * Runs the benchmark and writes the JSON report (and, for a full run or with `--chart`, the
 * ratio chart); or, with `--memory`, the memory check; or, with `--chart-from`, only the chart.
 *
 * @param argv - command-line arguments (without `node` and the script)
 * @param io - where the table and the progress go (stdout / stderr by default)
 * @returns the report that was written, or `null` for `--help`, `--memory` and `--chart-from`
 */
export async function main(argv: readonly string[], io: Io = DEFAULT_IO): Promise<BenchReport | null> {
  const cli = parseArgs(argv);
  if (cli.help) {
    io.print(USAGE);
    return null;
  }
  if (cli.memory) {
    await memoryMain(cli, io);
    return null;
  }
  if (cli.chartFrom !== null) {
    const saved = JSON.parse(readFileSync(cli.chartFrom, 'utf8')) as BenchReport;
    const file = cli.chart ?? DEFAULT_CHART;
    await writeRatioChart(saved, file);
    io.print(`wrote ${file}`);
    return null;
  }
  const base = cli.quick ? QUICK_HARNESS : FULL_HARNESS;
  const harness: HarnessOptions = cli.budgetMs === null ? base : { ...base, budgetMs: cli.budgetMs };
  const list = workloads(cli.quick, cli.only);
  const wanted = (name: ImplName): boolean => cli.impls.length === 0 || name === REFERENCE_IMPL || cli.impls.includes(name);
  const impls = implementations().filter((impl) => wanted(impl.name));
  const kernelBackendsAtStart = registeredBackends();
  const [tfjs, onnxruntime] = await Promise.all([tfInfo(), onnxRuntimeVersion()]);
  io.progress(`normkit bench: ${list.length} workload rows × ${impls.length + (wanted('c-ref') ? 1 : 0)} impls${cli.quick ? ' (quick)' : ''}; node ${process.version}`);

  const loadAtStart = os.loadavg();
  let cRef: CRefRun | null = null;
  if (wanted('c-ref')) {
    cRef = list.some((w) => cRefLineFor(w) !== null)
      ? await runCReference(tolerance('float32'), io.progress)
      : { ok: false, reason: "bench_c.c times only the full shapes of the batch-norm and layer-norm workloads (none selected; --quick's shapes are not its)" };
    if (!cRef.ok) io.progress(`c-ref: skipped (${cRef.reason})`);
  }
  const results: ResultRow[] = [];
  const skipped: SkippedRow[] = [];
  const tables = new Map<Workload, string>();
  // float32 first, float64 last: kernels that saw only float32 arrays are not slowed by
  // type feedback from float64 calls while the float32 rows are timed.
  const runOrder = [...list.filter((w) => w.dtype === 'float32'), ...list.filter((w) => w.dtype !== 'float32')];
  try {
    for (const workload of runOrder) {
      io.progress(`${workload.id} ${workload.dtype} (${workload.shape.join('×')})`);
      const { rows, skipped: notTimed } = await runWorkload(workload, impls, cRef, harness, io);
      results.push(...rows);
      skipped.push(...notTimed);
      tables.set(workload, formatWorkloadTable(workload, rows, notTimed));
    }
  } finally {
    await disposeWasmBackends();
  }
  const ratios = sameRunRatios(results);
  const targets = evaluateTargets(results);
  const cpuList = os.cpus();
  const report: BenchReport = {
    results,
    node: process.version,
    cpus: { model: cpuList[0]?.model ?? 'unknown', count: cpuList.length },
    skipped,
    ratios,
    targets,
    workloads: list.map((w) => ({ id: w.id, dtype: w.dtype, shape: w.shape, groups: w.groups, bytesModel: bytesModelText(w), bytes: minimalBytes(w) })),
    chart: cli.chart === null ? null : repositoryPath(cli.chart),
    environment: {
      quick: cli.quick,
      date: new Date().toISOString(),
      platform: `${process.platform} ${process.arch}`,
      harness,
      tfjs,
      onnxruntime,
      kernelBackendsAtStart,
      cRef: cRef === null ? null : cRef.ok ? { compiler: cRef.compiler, command: cRef.command, checksumsChecked: cRef.checksumsChecked } : { skipped: cRef.reason },
      loadAverage: { start: loadAtStart, end: os.loadavg() },
      threads:
        'single-threaded everywhere but normkit-wasm-2t: normkit and TF.js cpu are JS on one thread; TF.js wasm has no threads under Node; ONNX Runtime intra/inter-op threads = 1; bench_c OMP_NUM_THREADS=1',
    },
  };

  io.print('');
  io.print(
    `normkit benchmark — node ${report.node}, ${report.cpus.count}× ${report.cpus.model}; median ms per call; GB/s = bytes model / median; ÷default = impl ms / normkit-default ms (> 1: the default path is faster)`,
  );
  io.print(
    `TF.js ${tfjs?.version ?? '?'} (wasm: SIMD ${tfjs?.wasmSimd ?? '?'}, threads ${tfjs?.wasmThreads ?? '?'}), onnxruntime-node ${onnxruntime ?? '?'} (1 thread); c-ref: ${cRef === null ? 'not requested' : cRef.ok ? `${cRef.compiler}, OMP_NUM_THREADS=1` : `skipped (${cRef.reason})`}. Agreement: max|Δ| ≤ 1e-3·max|normkit-ts| (float32).`,
  );
  io.print(`Kernel backends registered at start: ${kernelBackendsAtStart.map((b) => `${b.backend} (priority ${b.priority})`).join(', ') || 'none'}.`);
  const load = (values: readonly number[]): string => values.map((v) => v.toFixed(2)).join(' / ');
  io.print(`Load average (1/5/15 min) at start ${load(loadAtStart)}, at end ${load(report.environment.loadAverage.end)} — other load on the machine skews absolute ms; compare ratios.`);
  for (const workload of list) io.print(`\n${tables.get(workload) ?? ''}`);
  io.print(`\n${formatRatios(ratios)}`);
  io.print(`\n${formatTargets(targets)}`);
  if (cli.quick) io.print('(--quick: tiny shapes and 1-2 samples; the numbers and verdicts above mean nothing)');

  mkdirSync(dirname(cli.out), { recursive: true });
  writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`);
  io.print(`\nwrote ${cli.out}`);
  if (cli.chart !== null) {
    await writeRatioChart(report, cli.chart);
    io.print(`wrote ${cli.chart}`);
  }
  return report;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    () => {
      // ONNX Runtime and TF.js keep no work pending, but be explicit about the exit code.
      process.exitCode = 0;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
