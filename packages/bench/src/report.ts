import type { Dtype } from '@normkit/core';
import type { ImplName } from './impls/types.js';
import type { Workload } from './workloads.js';
import { bytesModelText, elementCount, formatShape, minimalBytes } from './workloads.js';

/** One timed (workload, impl, dtype) row; the first five keys are the documented JSON schema. */
export interface ResultRow {
  /** Workload id. */
  readonly workload: string;
  /** Implementation name. */
  readonly impl: ImplName;
  /** Element type. */
  readonly dtype: Dtype;
  /** Median time per call, ms. */
  readonly medianMs: number;
  /** Effective GB/s under the workload's minimal-bytes model (10⁹ bytes / s). */
  readonly gbPerS: number;
  /** `medianMs / normkit's medianMs` in the same run: > 1 means normkit is faster. `null` without a normkit row. */
  readonly ratioToNormkit: number | null;
  /** The bytes model, in words. */
  readonly bytesModel: string;
  /** Bytes per call under the model. */
  readonly bytes: number;
  /** The input shape. */
  readonly shape: readonly number[];
  /** Fastest sample, ms per call. */
  readonly minMs: number;
  /** Number of samples. */
  readonly samples: number;
  /** Calls per sample. */
  readonly callsPerSample: number;
  /** Whether sampling stopped on a stable median. */
  readonly stable: boolean;
  /** Worst relative error against normkit's outputs (`null`: not compared, e.g. normkit itself or the copy). */
  readonly maxRelativeError: number | null;
}

/** A (workload, impl, dtype) that was not timed, and why. */
export interface SkippedRow {
  /** Workload id. */
  readonly workload: string;
  /** Implementation name. */
  readonly impl: ImplName;
  /** Element type. */
  readonly dtype: Dtype;
  /** Unsupported op, failed setup, or disagreeing outputs. */
  readonly reason: string;
}

/** The verdict on one target of the issue. */
export interface TargetVerdict {
  /** What is claimed, e.g. `"bn-train-fwdbwd float32: tfjs-wasm ms / normkit ms ≥ 10"`. */
  readonly target: string;
  /** The measured value of the compared quantity (`null` when a row is missing). */
  readonly value: number | null;
  /** The threshold. */
  readonly threshold: number;
  /** `>=` or `<=`. */
  readonly direction: '>=' | '<=';
  /** Met, missed, or `null` when it could not be evaluated in this run. */
  readonly pass: boolean | null;
}

function find(results: readonly ResultRow[], workload: string, impl: ImplName, dtype: Dtype = 'float32'): ResultRow | undefined {
  return results.find((r) => r.workload === workload && r.impl === impl && r.dtype === dtype);
}

function verdict(target: string, value: number | null, direction: '>=' | '<=', threshold: number): TargetVerdict {
  const pass = value === null ? null : direction === '>=' ? value >= threshold : value <= threshold;
  return { target, value, threshold, direction, pass };
}

/**
 * The issue's targets, evaluated on ratios measured in this run:
 *
 * - batch norm train fwd+bwd ≥ 10× faster than TF.js wasm and TF.js cpu on both shapes;
 * - layer norm fwd+bwd ≥ 7× faster than TF.js wasm;
 * - batch norm eval fwd and layer norm fwd within 1.2× of ONNX Runtime's one-thread time;
 * - normkit's public API within 1.15× of its bare kernels (every workload);
 * - batch norm train fwd+bwd at ≥ 60 % of the JS copy ceiling's GB/s;
 * - `@normkit/wasm`: resident ≥ 2× faster than ONNX Runtime on every forward workload ORT has,
 *   the copy path no slower than ONNX Runtime, batch norm train fwd+bwd NCHW at ≥ 50 % of the
 *   copy ceiling's GB/s (our stand-in for the memory-bound time: a JS copy loop, which itself
 *   runs below memory bandwidth), and two threads faster than one on the large workloads.
 */
export function evaluateTargets(results: readonly ResultRow[]): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const ratio = (workload: string, impl: ImplName, dtype: Dtype = 'float32'): number | null => find(results, workload, impl, dtype)?.ratioToNormkit ?? null;
  for (const workload of ['bn-train-fwdbwd', 'bn-train-fwdbwd-nchw']) {
    for (const peer of ['tfjs-wasm', 'tfjs-cpu'] as const) {
      out.push(verdict(`${workload} float32: ${peer} ms / normkit ms`, ratio(workload, peer), '>=', 10));
    }
  }
  out.push(verdict('ln-fwdbwd float32: tfjs-wasm ms / normkit ms', ratio('ln-fwdbwd', 'tfjs-wasm'), '>=', 7));
  for (const workload of ['bn-eval-fwd-nchw', 'ln-fwd']) {
    const r = ratio(workload, 'ort');
    out.push(verdict(`${workload} float32: normkit ms / ort ms (1 thread)`, r === null ? null : 1 / r, '<=', 1.2));
  }
  const pairs = new Set(results.map((r) => `${r.workload}|${r.dtype}`));
  for (const pair of pairs) {
    const [workload, dtype] = pair.split('|') as [string, Dtype];
    const r = ratio(workload, 'normkit-kernel', dtype);
    out.push(verdict(`${workload} ${dtype}: normkit API ms / normkit-kernel ms`, r === null ? null : 1 / r, '<=', 1.15));
  }
  for (const [workload, dtype] of [['bn-train-fwdbwd', 'float32'], ['bn-train-fwdbwd-nchw', 'float32'], ['bn-train-fwdbwd', 'float64']] as const) {
    const normkit = find(results, workload, 'normkit', dtype);
    const copy = find(results, workload, 'copy', dtype);
    const value = normkit === undefined || copy === undefined ? null : normkit.gbPerS / copy.gbPerS;
    out.push(verdict(`${workload} ${dtype}: normkit GB/s / copy GB/s`, value, '>=', 0.6));
  }
  const ms = (workload: string, impl: ImplName): number | null => find(results, workload, impl)?.medianMs ?? null;
  const quotient = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);
  for (const workload of ['bn-train-fwd', 'bn-eval-fwd-nchw', 'ln-fwd']) {
    out.push(verdict(`${workload} float32: ort ms / normkit-wasm ms`, quotient(ms(workload, 'ort'), ms(workload, 'normkit-wasm')), '>=', 2));
    out.push(verdict(`${workload} float32: normkit-wasm-copy ms / ort ms`, quotient(ms(workload, 'normkit-wasm-copy'), ms(workload, 'ort')), '<=', 1));
  }
  {
    const wasm = find(results, 'bn-train-fwdbwd-nchw', 'normkit-wasm');
    const copy = find(results, 'bn-train-fwdbwd-nchw', 'copy');
    out.push(verdict('bn-train-fwdbwd-nchw float32: normkit-wasm GB/s / copy GB/s', wasm === undefined || copy === undefined ? null : wasm.gbPerS / copy.gbPerS, '>=', 0.5));
  }
  for (const workload of ['bn-train-fwdbwd-nchw', 'bn-eval-fwd-nchw', 'ln-fwdbwd', 'ln-fwd']) {
    out.push(verdict(`${workload} float32: normkit-wasm ms / normkit-wasm-2t ms`, quotient(ms(workload, 'normkit-wasm'), ms(workload, 'normkit-wasm-2t')), '>=', 1));
  }
  return out;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function fixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(digits);
}

/** Milliseconds with three significant digits or at least three decimals. */
export function formatMs(ms: number): string {
  return ms >= 100 ? fixed(ms, 1) : ms >= 10 ? fixed(ms, 2) : fixed(ms, 3);
}

/** The header line of a workload's table. */
export function workloadHeader(workload: Workload): string {
  const mb = minimalBytes(workload) / 1e6;
  return `${workload.id} — ${workload.label} ${formatShape(workload.shape)} ${workload.dtype}, n = ${elementCount(workload)}; bytes model ${bytesModelText(workload)} = ${fixed(mb, 2)} MB/call`;
}

/**
 * The table of one workload: impl, dtype, median ms, GB/s, `peer ms / normkit ms`,
 * samples × calls, and the agreement with normkit; then the skipped impls and why.
 */
export function formatWorkloadTable(workload: Workload, rows: readonly ResultRow[], skipped: readonly SkippedRow[]): string {
  const lines = [workloadHeader(workload)];
  lines.push(
    `  ${pad('impl', 18)} ${pad('dtype', 8)} ${pad('median ms', 11, true)} ${pad('GB/s', 7, true)} ${pad('peer/normkit', 13, true)} ${pad('samples', 10, true)}  max rel err vs normkit`,
  );
  for (const r of rows) {
    const ratio = r.ratioToNormkit === null ? '—' : `${fixed(r.ratioToNormkit, 2)}×`;
    const err = r.maxRelativeError === null ? (r.impl === 'normkit' ? '(reference)' : '(not compared)') : r.maxRelativeError.toExponential(1);
    lines.push(
      `  ${pad(r.impl, 18)} ${pad(r.dtype, 8)} ${pad(formatMs(r.medianMs), 11, true)} ${pad(fixed(r.gbPerS, 2), 7, true)} ${pad(ratio, 13, true)} ${pad(`${r.samples}×${r.callsPerSample}`, 10, true)}  ${err}`,
    );
  }
  for (const s of skipped) lines.push(`  ${pad(s.impl, 18)} ${pad(s.dtype, 8)} not timed: ${s.reason}`);
  return lines.join('\n');
}

/** The targets as lines: `PASS`/`MISS`/`n/a`, the measured value and the threshold. */
export function formatTargets(verdicts: readonly TargetVerdict[]): string {
  const lines = ['Targets (ratios from this run):'];
  for (const v of verdicts) {
    const status = v.pass === null ? 'n/a ' : v.pass ? 'PASS' : 'MISS';
    const value = v.value === null ? '—' : fixed(v.value, 2);
    lines.push(`  ${status}  ${pad(v.target, 62)} ${pad(value, 7, true)}  (target ${v.direction} ${v.threshold})`);
  }
  return lines.join('\n');
}
