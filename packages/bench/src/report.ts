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
  /**
   * `medianMs / normkit-default's medianMs` in the same run (the public API as a user gets it
   * with no setup): > 1 means normkit's default path is faster. `null` without a default row.
   */
  readonly ratioToDefault: number | null;
  /** The bytes model, in words. */
  readonly bytesModel: string;
  /** Bytes per call under the model. */
  readonly bytes: number;
  /** The input shape. */
  readonly shape: readonly number[];
  /** Fastest sample, ms per call (`null` for c-ref, which reports its median only). */
  readonly minMs: number | null;
  /** Number of samples. */
  readonly samples: number;
  /** Calls per sample (`null` for c-ref, which sizes its samples itself). */
  readonly callsPerSample: number | null;
  /** Whether sampling stopped on a stable median. */
  readonly stable: boolean;
  /** Worst relative error against normkit-ts's outputs (`null`: not compared — normkit-ts itself, the copy, c-ref). */
  readonly maxRelativeError: number | null;
  /** How the row was timed or checked when not as the others (c-ref), else `null`. */
  readonly note: string | null;
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

/** The verdict on one target of the issues. */
export interface TargetVerdict {
  /** Which group of targets (e.g. `"default path"`, `"wasm"`). */
  readonly group: string;
  /** What is claimed, e.g. `"bn-train-fwdbwd float32: tfjs-wasm ms / normkit-default ms"`. */
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

/** The same-run ratios the benchmark reports for every workload (see {@link sameRunRatios}). */
export const RATIO_KINDS = [
  { kind: 'default / ts', numerator: 'normkit-default', denominator: 'normkit-ts', meaning: 'the zero-config default path against the TypeScript kernels (< 1: the default is faster)' },
  { kind: 'wasm / c-ref', numerator: 'normkit-wasm', denominator: 'c-ref', meaning: 'resident wasm against gcc -O3 -march=native, one thread (1 = C speed)' },
  { kind: 'wasm / ort', numerator: 'normkit-wasm', denominator: 'ort', meaning: 'resident wasm against ONNX Runtime, one thread, forward workloads (< 1: wasm is faster)' },
  { kind: 'default / ort', numerator: 'normkit-default', denominator: 'ort', meaning: 'the default path against ONNX Runtime, forward workloads (< 1: the default is faster)' },
  { kind: 'ts / js-ref', numerator: 'normkit-ts', denominator: 'js-ref', meaning: 'the TypeScript kernels through the API against the tuned plain-JS loops (1 = as fast as the anchor)' },
] as const satisfies readonly { kind: string; numerator: ImplName; denominator: ImplName; meaning: string }[];

/** One same-run ratio: `numerator ms / denominator ms` on one workload. */
export interface RatioRow {
  /** Which ratio (see {@link RATIO_KINDS}). */
  readonly kind: (typeof RATIO_KINDS)[number]['kind'];
  /** Workload id. */
  readonly workload: string;
  /** Element type. */
  readonly dtype: Dtype;
  /** The numerator's impl. */
  readonly numerator: ImplName;
  /** The denominator's impl. */
  readonly denominator: ImplName;
  /** `numerator medianMs / denominator medianMs`. */
  readonly value: number;
}

function find(results: readonly ResultRow[], workload: string, impl: ImplName, dtype: Dtype = 'float32'): ResultRow | undefined {
  return results.find((r) => r.workload === workload && r.impl === impl && r.dtype === dtype);
}

/**
 * The same-run ratios of every (workload, dtype) where both rows were timed: normkit-default /
 * normkit-ts, normkit-wasm / c-ref, normkit-wasm / ort, normkit-default / ort and
 * normkit-ts / js-ref (ms over ms: below 1 the numerator is faster).
 *
 * @param results - the rows of one run
 */
export function sameRunRatios(results: readonly ResultRow[]): RatioRow[] {
  const out: RatioRow[] = [];
  const pairs: { workload: string; dtype: Dtype }[] = [];
  for (const r of results) if (!pairs.some((p) => p.workload === r.workload && p.dtype === r.dtype)) pairs.push({ workload: r.workload, dtype: r.dtype });
  for (const { kind, numerator, denominator } of RATIO_KINDS) {
    for (const { workload, dtype } of pairs) {
      const a = find(results, workload, numerator, dtype);
      const b = find(results, workload, denominator, dtype);
      if (a !== undefined && b !== undefined) out.push({ kind, workload, dtype, numerator, denominator, value: a.medianMs / b.medianMs });
    }
  }
  return out;
}

function verdict(group: string, target: string, value: number | null, direction: '>=' | '<=', threshold: number): TargetVerdict {
  const pass = value === null ? null : direction === '>=' ? value >= threshold : value <= threshold;
  return { group, target, value, threshold, direction, pass };
}

/** Every forward workload ONNX Runtime has a model for. */
export const ORT_FORWARD_WORKLOADS: readonly string[] = ['bn-train-fwd', 'bn-eval-fwd-nchw', 'ln-fwd', 'gn-fwd', 'in-fwd', 'rms-fwd'];

/**
 * The issues' targets, evaluated on ratios measured in this run ("normkit" in a target is the
 * public API as users get it, `normkit-default`, unless it says otherwise):
 *
 * - TF.js: batch norm train fwd+bwd ≥ 10× faster than TF.js wasm and TF.js cpu on both
 *   shapes; layer norm fwd+bwd ≥ 7× faster than TF.js wasm;
 * - ONNX Runtime: batch norm eval fwd and layer norm fwd within 1.2× of ORT's one-thread time;
 * - API overhead: the public API on the TypeScript kernels within 1.15× of its bare kernels
 *   (`normkit-ts / normkit-kernel`, every workload that has both);
 * - copy ceiling: the TypeScript batch norm train fwd+bwd at ≥ 60 % of the JS copy loop's GB/s;
 * - wasm: resident ≥ 2× faster than ORT on every forward workload ORT has, the copy path no
 *   slower than ORT, batch norm train fwd+bwd NCHW at ≥ 50 % of the copy ceiling's GB/s, two
 *   threads faster than one on the large workloads;
 * - default path: with no setup, no slower than ORT on every forward workload ORT has, and
 *   faster than the TypeScript kernels on every float32 workload;
 * - zero-config speed (issue 18, the lines a single run can measure): the TypeScript kernels
 *   within 1.25× of `js-ref` on every workload that has both (either dtype), and resident wasm
 *   at ≥ 0.5× of C's speed (`normkit-wasm ms / c-ref ms ≤ 2`) on every workload C times (n/a
 *   when one of the two rows is missing, e.g. without gcc). Its
 *   third line, the default path ≥ 2× the pre-engine TypeScript path, needs the old build:
 *   `scripts/before-after.mjs`.
 */
export function evaluateTargets(results: readonly ResultRow[]): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const ms = (workload: string, impl: ImplName, dtype: Dtype = 'float32'): number | null => find(results, workload, impl, dtype)?.medianMs ?? null;
  const quotient = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);
  const gb = (workload: string, impl: ImplName, dtype: Dtype = 'float32'): number | null => find(results, workload, impl, dtype)?.gbPerS ?? null;
  for (const workload of ['bn-train-fwdbwd', 'bn-train-fwdbwd-nchw']) {
    for (const peer of ['tfjs-wasm', 'tfjs-cpu'] as const) {
      out.push(verdict('TF.js', `${workload} float32: ${peer} ms / normkit-default ms`, quotient(ms(workload, peer), ms(workload, 'normkit-default')), '>=', 10));
    }
  }
  out.push(verdict('TF.js', 'ln-fwdbwd float32: tfjs-wasm ms / normkit-default ms', quotient(ms('ln-fwdbwd', 'tfjs-wasm'), ms('ln-fwdbwd', 'normkit-default')), '>=', 7));
  for (const workload of ['bn-eval-fwd-nchw', 'ln-fwd']) {
    out.push(verdict('ONNX Runtime', `${workload} float32: normkit-default ms / ort ms (1 thread)`, quotient(ms(workload, 'normkit-default'), ms(workload, 'ort')), '<=', 1.2));
  }
  const pairs = new Set(results.map((r) => `${r.workload}|${r.dtype}`));
  for (const pair of pairs) {
    const [workload, dtype] = pair.split('|') as [string, Dtype];
    if (/^(gn|in|rms)-/.test(workload)) continue; // no bare-kernel row for the family
    const value = quotient(ms(workload, 'normkit-ts', dtype), ms(workload, 'normkit-kernel', dtype));
    out.push(verdict('API overhead', `${workload} ${dtype}: normkit-ts ms / normkit-kernel ms`, value, '<=', 1.15));
  }
  for (const [workload, dtype] of [['bn-train-fwdbwd', 'float32'], ['bn-train-fwdbwd-nchw', 'float32'], ['bn-train-fwdbwd', 'float64']] as const) {
    out.push(verdict('copy ceiling', `${workload} ${dtype}: normkit-ts GB/s / copy GB/s`, quotient(gb(workload, 'normkit-ts', dtype), gb(workload, 'copy', dtype)), '>=', 0.6));
  }
  for (const workload of ORT_FORWARD_WORKLOADS) {
    out.push(verdict('wasm', `${workload} float32: ort ms / normkit-wasm ms`, quotient(ms(workload, 'ort'), ms(workload, 'normkit-wasm')), '>=', 2));
    out.push(verdict('wasm', `${workload} float32: normkit-wasm-copy ms / ort ms`, quotient(ms(workload, 'normkit-wasm-copy'), ms(workload, 'ort')), '<=', 1));
  }
  out.push(verdict('wasm', 'bn-train-fwdbwd-nchw float32: normkit-wasm GB/s / copy GB/s', quotient(gb('bn-train-fwdbwd-nchw', 'normkit-wasm'), gb('bn-train-fwdbwd-nchw', 'copy')), '>=', 0.5));
  for (const workload of ['bn-train-fwdbwd-nchw', 'bn-eval-fwd-nchw', 'ln-fwdbwd', 'ln-fwd']) {
    out.push(verdict('wasm', `${workload} float32: normkit-wasm ms / normkit-wasm-2t ms`, quotient(ms(workload, 'normkit-wasm'), ms(workload, 'normkit-wasm-2t')), '>=', 1));
  }
  for (const workload of ORT_FORWARD_WORKLOADS) {
    out.push(verdict('default path', `${workload} float32: normkit-default ms / ort ms`, quotient(ms(workload, 'normkit-default'), ms(workload, 'ort')), '<=', 1));
  }
  const float32Workloads = [...new Set(results.filter((r) => r.dtype === 'float32').map((r) => r.workload))];
  for (const workload of float32Workloads) {
    out.push(verdict('default path', `${workload} float32: normkit-default ms / normkit-ts ms`, quotient(ms(workload, 'normkit-default'), ms(workload, 'normkit-ts')), '<=', 1));
  }
  for (const pair of pairs) {
    const [workload, dtype] = pair.split('|') as [string, Dtype];
    const value = quotient(ms(workload, 'normkit-ts', dtype), ms(workload, 'js-ref', dtype));
    if (value !== null) out.push(verdict('zero-config speed', `${workload} ${dtype}: normkit-ts ms / js-ref ms`, value, '<=', 1.25));
  }
  for (const workload of float32Workloads) {
    if (ms(workload, 'c-ref') === null && ms(workload, 'normkit-wasm') === null) continue;
    out.push(verdict('zero-config speed', `${workload} float32: normkit-wasm ms / c-ref ms`, quotient(ms(workload, 'normkit-wasm'), ms(workload, 'c-ref')), '<=', 2));
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
 * The table of one workload: impl, dtype, median ms, GB/s, `impl ms / normkit-default ms`,
 * samples × calls, and the agreement with normkit-ts (or the row's note); then the skipped
 * impls and why.
 */
export function formatWorkloadTable(workload: Workload, rows: readonly ResultRow[], skipped: readonly SkippedRow[]): string {
  const lines = [workloadHeader(workload)];
  lines.push(
    `  ${pad('impl', 18)} ${pad('dtype', 8)} ${pad('median ms', 11, true)} ${pad('GB/s', 7, true)} ${pad('÷default', 10, true)} ${pad('samples', 10, true)}  max rel err vs normkit-ts`,
  );
  for (const r of rows) {
    const ratio = r.ratioToDefault === null ? '—' : `${fixed(r.ratioToDefault, 2)}×`;
    const err = r.maxRelativeError !== null ? r.maxRelativeError.toExponential(1) : r.impl === 'normkit-ts' ? '(reference)' : r.note !== null ? r.note : '(not compared)';
    const samples = r.callsPerSample === null ? `${r.samples}` : `${r.samples}×${r.callsPerSample}`;
    lines.push(
      `  ${pad(r.impl, 18)} ${pad(r.dtype, 8)} ${pad(formatMs(r.medianMs), 11, true)} ${pad(fixed(r.gbPerS, 2), 7, true)} ${pad(ratio, 10, true)} ${pad(samples, 10, true)}  ${err}`,
    );
  }
  for (const s of skipped) lines.push(`  ${pad(s.impl, 18)} ${pad(s.dtype, 8)} not timed: ${s.reason}`);
  return lines.join('\n');
}

/** The same-run ratios as lines, one block per kind, one line per workload. */
export function formatRatios(ratios: readonly RatioRow[]): string {
  const lines = ['Same-run ratios (ms / ms; below 1 the first is faster):'];
  for (const { kind, meaning } of RATIO_KINDS) {
    const rows = ratios.filter((r) => r.kind === kind);
    lines.push(`  ${kind} — ${meaning}`);
    if (rows.length === 0) lines.push('    (no workload had both rows in this run)');
    for (const r of rows) lines.push(`    ${pad(`${r.workload} ${r.dtype}`, 30)} ${pad(fixed(r.value, 3), 8, true)}`);
  }
  return lines.join('\n');
}

/** The targets as lines: `PASS`/`MISS`/`n/a`, the measured value and the threshold, by group. */
export function formatTargets(verdicts: readonly TargetVerdict[]): string {
  const lines = ['Targets (ratios from this run):'];
  let group: string | null = null;
  for (const v of verdicts) {
    if (v.group !== group) {
      group = v.group;
      lines.push(`  [${group}]`);
    }
    const status = v.pass === null ? 'n/a ' : v.pass ? 'PASS' : 'MISS';
    const value = v.value === null ? '—' : fixed(v.value, 2);
    lines.push(`  ${status}  ${pad(v.target, 62)} ${pad(value, 7, true)}  (target ${v.direction} ${v.threshold})`);
  }
  const counted = verdicts.filter((v) => v.pass !== null);
  lines.push(`  ${counted.filter((v) => v.pass === true).length} of ${counted.length} evaluated targets met (${verdicts.length - counted.length} n/a)`);
  return lines.join('\n');
}
