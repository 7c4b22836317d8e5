import type { Mode } from '@normkit/core';

/**
 * Which comparison a value came from:
 * - `'gradient'`: one element of the gradient of the loss L = Σ r⊙y (backward with dy = r
 *   against the central difference of L);
 * - `'jacobian'`: one entry ∂yᵢ/∂xⱼ of the full Jacobian (backward with one-hot dy against
 *   the central difference of y);
 * - `'projection'`: one random projection uᵀJv (backward with dy = u, dotted with v, against
 *   the directional central difference of uᵀy along v).
 */
export type WorstSource = 'gradient' | 'jacobian' | 'projection';

/** One compared value, among the worst of its check. */
export interface WorstEntry {
  /** Which comparison it came from. */
  source: WorstSource;
  /**
   * The multi-index into the differentiated tensor (`x` or the parameter); for a
   * projection, `[k]` for the k-th projection.
   */
  index: number[];
  /** For a Jacobian entry, the multi-index into y. */
  output?: number[];
  /** The value from backward. */
  analytic: number;
  /** The value from finite differences. */
  numeric: number;
  /** |analytic − numeric|. */
  absErr: number;
  /** |analytic − numeric| / max(|analytic|, |numeric|, atol·scale). */
  relErr: number;
}

/** `'pass'`, `'fail'` (values out of tolerance or a contract broken) or `'error'` (something threw). */
export type CheckStatus = 'pass' | 'fail' | 'error';

/** Where a check ran: the option set, mode and input shape. */
export interface CaseLabel {
  /** The plugin's `meta.name`. */
  plugin: string;
  /** Index of the option set in the list checked. */
  optionsIndex: number;
  /** The option set as given (before `resolveOptions`), as compact JSON. */
  options: string;
  /** The mode. */
  mode: Mode;
  /** The input shape. */
  shape: number[];
}

/**
 * The comparison of one gradient (`dx` or one parameter's) with finite differences, for
 * one option set × mode × shape.
 */
export interface TensorCheck extends CaseLabel {
  /** Stable id: `plugin:mode:o<optionsIndex>:<shape as 4x3x5x5>:<tensor>`. */
  id: string;
  /** `'x'` or the parameter name. */
  tensor: string;
  /**
   * `'full-jacobian'`: every Jacobian entry and every gradient element compared;
   * `'projection'`: random projections uᵀJv plus the gradient at a random subset of elements.
   */
  method: 'full-jacobian' | 'projection';
  /** `status === 'pass'`. */
  ok: boolean;
  /** Pass, fail, or error (the plugin threw). */
  status: CheckStatus;
  /** How many values were compared. */
  compared: number;
  /** How many were out of tolerance. */
  failures: number;
  /** The largest |analytic − numeric| (NaN when the status is `'error'`; Infinity when a value was not finite). */
  maxAbsErr: number;
  /** The largest relative error (see {@link WorstEntry.relErr}; NaN when the status is `'error'`). */
  maxRelErr: number;
  /** The worst entries, worst first (ranked by how far past tolerance). */
  worst: WorstEntry[];
  /** One line for people: what was compared, or what went wrong. */
  message: string;
}

/** The name of a contract check. */
export type ContractName =
  | 'setup'
  | 'forward-purity'
  | 'backward-purity'
  | 'forward-determinism'
  | 'backward-determinism'
  | 'zero-dy'
  | 'linearity'
  | 'shapes-dtypes'
  | 'invariant'
  | 'double-backward-purity'
  | 'double-backward-determinism'
  | 'double-backward-linearity'
  | 'double-backward-shapes-dtypes';

/** One property of the plugin beyond its Jacobian, for one option set × mode × shape. */
export interface ContractCheck extends CaseLabel {
  /** Stable id: `plugin:mode:o<optionsIndex>:<shape>:<name>` (invariants add `:<kind>`). */
  id: string;
  /** Which property. */
  name: ContractName;
  /** `status === 'pass'`. */
  ok: boolean;
  /** Pass, fail, or error (the plugin threw). */
  status: CheckStatus;
  /** What was checked, or what broke, naming the tensor and index. */
  message: string;
}

/** The settings a report was made with. */
export interface ReportSettings {
  /** Relative tolerance. */
  rtol: number;
  /** Absolute tolerance (times the scale). */
  atol: number;
  /** Whether Richardson extrapolation was used. */
  richardson: boolean;
  /** Full Jacobians when both x and y have at most this many elements. */
  fullJacobianMaxSize: number;
  /** Random projections per tensor in projection mode. */
  projections: number;
  /** Gradient elements checked per tensor in projection mode. */
  subsetSize: number;
  /** How many worst entries each check keeps. */
  worst: number;
}

/** The result of {@link checkGradients}. */
export interface GradcheckReport {
  /** The plugin's `meta.name`. */
  plugin: string;
  /** The plugin's `meta.version`. */
  version: string;
  /** Every tensor check and every contract check passed. */
  ok: boolean;
  /** The seed every random draw derives from. */
  seed: number;
  /** Tolerances and methods used. */
  settings: ReportSettings;
  /** One per option set × mode × shape × tensor. */
  checks: TensorCheck[];
  /** One per option set × mode × shape × contract. */
  contracts: ContractCheck[];
  /**
   * Which derivative was checked: absent or 1 for `backward` against differences of
   * `forward`; 2 for `doubleBackward` against differences of `backward` (see `checkSecondOrder`).
   */
  order?: 1 | 2;
  /**
   * Set when nothing could be checked and that is not a failure, with the reason: an order-2
   * check of a plugin without the optional `doubleBackward` member (then `ok` is true and
   * there are no checks).
   */
  skipped?: string;
}

/** Formats a number for the table: 3 significant digits, exponent form. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Inf' : '-Inf';
  if (v === 0) return '0';
  return v.toExponential(2);
}

function shortNumber(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential() : String(v);
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return formatNumber(v);
  return (v >= 0 ? ' ' : '') + v.toPrecision(10);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function table(rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Renders a report as fixed-width text a person reads at a glance:
 *
 * 1. a header `gradcheck <plugin>@<version>: PASS|FAIL` with counts and settings;
 * 2. a table, one line per tensor check: status, options, mode, shape, tensor, method,
 *    max abs err, max rel err;
 * 3. the failing contract checks, one per line with their message;
 * 4. for each failing tensor check, its worst entries: multi-index (and y index for a
 *    Jacobian entry), analytic and numeric values, abs and rel error.
 */
export function formatReport(report: GradcheckReport): string {
  const lines: string[] = [];
  const passedChecks = report.checks.filter((c) => c.ok).length;
  const passedContracts = report.contracts.filter((c) => c.ok).length;
  const s = report.settings;
  const order = report.order === 2 ? ' (order 2)' : '';
  if (report.skipped !== undefined) return `gradcheck ${report.plugin}@${report.version}${order}: SKIPPED\n  ${report.skipped}`;
  lines.push(`gradcheck ${report.plugin}@${report.version}${order}: ${report.ok ? 'PASS' : 'FAIL'}`);
  lines.push(
    `  ${passedChecks}/${report.checks.length} gradient checks passed, ${passedContracts}/${report.contracts.length} contract checks passed` +
      ` (seed ${report.seed}, rtol ${shortNumber(s.rtol)}, atol ${shortNumber(s.atol)}·scale, ${s.richardson ? 'Richardson' : 'central'} differences)`,
  );
  lines.push('');
  const rows: string[][] = [['', 'options', 'mode', 'shape', 'tensor', 'method', 'max abs err', 'max rel err']];
  for (const c of report.checks) {
    rows.push([
      c.status.toUpperCase(),
      truncate(`#${c.optionsIndex} ${c.options}`, 32),
      c.mode,
      shapeText(c.shape),
      c.tensor,
      c.method,
      c.status === 'error' ? '-' : formatNumber(c.maxAbsErr),
      c.status === 'error' ? '-' : formatNumber(c.maxRelErr),
    ]);
  }
  lines.push(...table(rows, new Set([6, 7])));

  const failedContracts = report.contracts.filter((c) => !c.ok);
  if (failedContracts.length > 0) {
    lines.push('');
    lines.push('Failed contract checks:');
    for (const c of failedContracts) {
      lines.push(`  ${c.status.toUpperCase()}  ${c.name}  #${c.optionsIndex} ${c.mode} ${shapeText(c.shape)}: ${c.message}`);
    }
  }

  const failedChecks = report.checks.filter((c) => !c.ok);
  if (failedChecks.length > 0) {
    lines.push('');
    lines.push('Failures:');
    for (const c of failedChecks) {
      lines.push(`  ${c.tensor}  #${c.optionsIndex} ${c.mode} ${shapeText(c.shape)} (${c.method}): ${c.message}`);
      if (c.worst.length === 0) continue;
      const worstRows: string[][] = [['source', 'index', 'y index', 'analytic', 'numeric', 'abs err', 'rel err']];
      for (const w of c.worst) {
        worstRows.push([
          w.source,
          shapeText(w.index),
          w.output === undefined ? '' : shapeText(w.output),
          formatValue(w.analytic),
          formatValue(w.numeric),
          formatNumber(w.absErr),
          formatNumber(w.relErr),
        ]);
      }
      lines.push(...table(worstRows, new Set([3, 4, 5, 6])).map((l) => `    ${l}`));
    }
  }
  return lines.join('\n');
}
