#!/usr/bin/env node
/**
 * The normkit benchmark: every workload on every implementation, in one process and
 * one run, outputs checked against normkit before anything is timed.
 *
 * ```
 * node dist/main.js [--quick] [--out FILE] [--only ID[,ID…]] [--budget MS]
 * ```
 *
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compareOutputs, tolerance } from './check.js';
import { makeWorkloadData } from './data.js';
import type { HarnessOptions } from './harness.js';
import type { Timed } from './harness.js';
import { FULL_HARNESS, QUICK_HARNESS, measureInterleaved } from './harness.js';
import { copyCeiling } from './impls/copy.js';
import { normkitApi, normkitKernel } from './impls/normkit.js';
import { disposeWasmBackends, normkitWasm, normkitWasmCopy, normkitWasmTwoThreads } from './impls/wasm.js';
import { loadOrt, onnxRuntime } from './impls/ort.js';
import type { TfInfo } from './impls/tfjs.js';
import { loadTf, tfjsImplementation } from './impls/tfjs.js';
import type { Implementation, Outputs, PreparedRun } from './impls/types.js';
import type { ResultRow, SkippedRow, TargetVerdict } from './report.js';
import { evaluateTargets, formatMs, formatTargets, formatWorkloadTable } from './report.js';
import type { Workload } from './workloads.js';
import { WORKLOAD_IDS, bytesModelText, minimalBytes, workloads } from './workloads.js';

/** Where the JSON goes without `--out`: `packages/bench/results/latest.json`. */
export const DEFAULT_OUT = fileURLToPath(new URL('../results/latest.json', import.meta.url));

/** Parsed command-line options. */
export interface CliOptions {
  /** Tiny shapes and one or two samples (smoke test). */
  readonly quick: boolean;
  /** The JSON output path. */
  readonly out: string;
  /** Workload ids to run (all when empty). */
  readonly only: readonly string[];
  /** Time budget per (workload, impl) in ms, overriding the harness default. */
  readonly budgetMs: number | null;
  /** Print usage and exit. */
  readonly help: boolean;
}

/** The usage text. */
export const USAGE = `usage: node dist/main.js [--quick] [--out FILE] [--only ID[,ID...]] [--budget MS]
  --quick        tiny shapes, 1-2 samples (smoke test)
  --out FILE     JSON output (default packages/bench/results/latest.json)
  --only IDS     comma-separated workload ids: ${WORKLOAD_IDS.join(', ')}
  --budget MS    time budget per (workload, impl) pair (default ${FULL_HARNESS.budgetMs})`;

/**
 * Parses the command line.
 *
 * @throws Error for an unknown flag or a missing value
 */
export function parseArgs(argv: readonly string[]): CliOptions {
  let quick = false;
  let out = DEFAULT_OUT;
  let only: string[] = [];
  let budgetMs: number | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--out') out = resolve(value());
    else if (arg === '--only') only = only.concat(value().split(',').filter((s) => s.length > 0));
    else if (arg === '--budget') {
      budgetMs = Number(value());
      if (!(budgetMs > 0)) throw new Error(`--budget: expected a positive number of ms`);
    } else if (arg === '--help' || arg === '-h') help = true;
    else throw new Error(`unknown argument '${arg}'\n${USAGE}`);
  }
  return { quick, out, only, budgetMs, help };
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
  /** The issue's targets on this run's ratios. */
  readonly targets: readonly TargetVerdict[];
  /** Per workload: the bytes model and bytes per call. */
  readonly workloads: readonly { id: string; dtype: string; shape: readonly number[]; bytesModel: string; bytes: number }[];
  /** Run facts: quick mode, harness settings, library versions, threads. */
  readonly environment: {
    readonly quick: boolean;
    readonly date: string;
    readonly platform: string;
    readonly harness: HarnessOptions;
    readonly tfjs: TfInfo | null;
    readonly onnxruntime: string | null;
    readonly threads: string;
    /** `os.loadavg()` (1, 5, 15 min) when the run started and ended: other load skews absolute times. */
    readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  };
}

/** The implementations, in the order they run on each workload (normkit first: it is the reference). */
export function implementations(): Implementation[] {
  return [normkitApi, normkitKernel, normkitWasm, normkitWasmCopy, normkitWasmTwoThreads, tfjsImplementation('wasm'), tfjsImplementation('cpu'), onnxRuntime, copyCeiling];
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

/**
 * Runs every implementation on one workload: set each up, check its outputs against
 * normkit's (the reference), then time all that agree, round-robin, and dispose.
 */
async function runWorkload(
  workload: Workload,
  impls: readonly Implementation[],
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
      if (impl.name === 'normkit') {
        reference = outputs;
      } else if (outputs !== null) {
        const agreement = reference === null ? null : compareOutputs(reference, outputs, tol);
        if (agreement === null || !agreement.ok) {
          await prepared.dispose();
          skip(agreement === null ? 'no normkit reference to check against' : `disagrees with normkit (tolerance ${tol} of the output scale): ${agreement.message}`);
          continue;
        }
        maxRelativeError = agreement.worst;
        io.progress(`  ${tag}: agrees with normkit (max rel err ${maxRelativeError.toExponential(1)})`);
      }
      accepted.push({ impl, prepared, maxRelativeError });
    }
    io.progress(`  timing ${accepted.map((a) => a.impl.name).join(', ')} (round-robin)…`);
    const timed: Timed[] = accepted.map(({ prepared }) => ({
      run: () => prepared.run(),
      beforeSample: prepared.beforeSample === undefined ? undefined : () => (prepared.beforeSample as () => Promise<void>)(),
    }));
    const measurements = await measureInterleaved(timed, harness);
    const normkitIndex = accepted.findIndex((a) => a.impl.name === 'normkit');
    const normkitMs = normkitIndex < 0 ? null : measurements[normkitIndex].medianMs;
    const rows = accepted.map(({ impl, maxRelativeError }, i): ResultRow => {
      const m = measurements[i];
      return {
        workload: workload.id,
        impl: impl.name,
        dtype: workload.dtype,
        medianMs: m.medianMs,
        gbPerS: bytes / (m.medianMs * 1e-3) / 1e9,
        ratioToNormkit: normkitMs === null ? null : m.medianMs / normkitMs,
        bytesModel: bytesModelText(workload),
        bytes,
        shape: workload.shape,
        minMs: m.minMs,
        samples: m.samplesMs.length,
        callsPerSample: m.callsPerSample,
        stable: m.stable,
        maxRelativeError,
      };
    });
    for (const row of rows) {
      io.progress(`  ${row.impl}: ${formatMs(row.medianMs)} ms${row.ratioToNormkit === null ? '' : ` (${row.ratioToNormkit.toFixed(2)}× normkit)`}`);
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

/**
 * Runs the benchmark and writes the JSON report.
 *
 * @param argv - command-line arguments (without `node` and the script)
 * @param io - where the table and the progress go (stdout / stderr by default)
 * @returns the report that was written, or `null` for `--help`
 */
export async function main(argv: readonly string[], io: Io = DEFAULT_IO): Promise<BenchReport | null> {
  const cli = parseArgs(argv);
  if (cli.help) {
    io.print(USAGE);
    return null;
  }
  const base = cli.quick ? QUICK_HARNESS : FULL_HARNESS;
  const harness: HarnessOptions = cli.budgetMs === null ? base : { ...base, budgetMs: cli.budgetMs };
  const list = workloads(cli.quick, cli.only);
  const impls = implementations();
  const [tfjs, onnxruntime] = await Promise.all([tfInfo(), onnxRuntimeVersion()]);
  io.progress(`normkit bench: ${list.length} workload rows × ${impls.length} impls${cli.quick ? ' (quick)' : ''}; node ${process.version}`);

  const loadAtStart = os.loadavg();
  const results: ResultRow[] = [];
  const skipped: SkippedRow[] = [];
  const tables = new Map<Workload, string>();
  // float32 first, float64 last: kernels that saw only float32 arrays are not slowed by
  // type feedback from float64 calls while the float32 rows are timed.
  const runOrder = [...list.filter((w) => w.dtype === 'float32'), ...list.filter((w) => w.dtype !== 'float32')];
  for (const workload of runOrder) {
    io.progress(`${workload.id} ${workload.dtype} (${workload.shape.join('×')})`);
    const { rows, skipped: notTimed } = await runWorkload(workload, impls, harness, io);
    results.push(...rows);
    skipped.push(...notTimed);
    tables.set(workload, formatWorkloadTable(workload, rows, notTimed));
  }
  await disposeWasmBackends();
  const targets = evaluateTargets(results);
  const cpuList = os.cpus();
  const report: BenchReport = {
    results,
    node: process.version,
    cpus: { model: cpuList[0]?.model ?? 'unknown', count: cpuList.length },
    skipped,
    targets,
    workloads: list.map((w) => ({ id: w.id, dtype: w.dtype, shape: w.shape, bytesModel: bytesModelText(w), bytes: minimalBytes(w) })),
    environment: {
      quick: cli.quick,
      date: new Date().toISOString(),
      platform: `${process.platform} ${process.arch}`,
      harness,
      tfjs,
      onnxruntime,
      loadAverage: { start: loadAtStart, end: os.loadavg() },
      threads:
        'single-threaded everywhere: normkit and TF.js cpu are JS on one thread; TF.js wasm has no threads under Node; ONNX Runtime intra/inter-op threads = 1',
    },
  };

  io.print('');
  io.print(
    `normkit benchmark — node ${report.node}, ${report.cpus.count}× ${report.cpus.model}; median ms per call; GB/s = bytes model / median; peer/normkit = peer ms / normkit ms (> 1: normkit faster)`,
  );
  io.print(
    `TF.js ${tfjs?.version ?? '?'} (wasm: SIMD ${tfjs?.wasmSimd ?? '?'}, threads ${tfjs?.wasmThreads ?? '?'}), onnxruntime-node ${onnxruntime ?? '?'} (1 thread); all single-threaded. Agreement tolerance: max|Δ| ≤ 1e-3·max|ref| (float32).`,
  );
  const load = (values: readonly number[]): string => values.map((v) => v.toFixed(2)).join(' / ');
  io.print(`Load average (1/5/15 min) at start ${load(loadAtStart)}, at end ${load(report.environment.loadAverage.end)} — other load on the machine skews absolute ms; compare ratios.`);
  for (const workload of list) io.print(`\n${tables.get(workload) ?? ''}`);
  io.print(`\n${formatTargets(targets)}`);
  if (cli.quick) io.print('(--quick: tiny shapes and 1-2 samples; the numbers and verdicts above mean nothing)');

  mkdirSync(dirname(cli.out), { recursive: true });
  writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`);
  io.print(`\nwrote ${cli.out}`);
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
