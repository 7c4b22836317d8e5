import type { Mode } from '@normkit/core';

/**
 * Which comparison a value came from:
 * - `'gradient'`: one element of the gradient of the loss L = Σ r⊙y (backward with dy = r
 *   against the central difference of L);
 * - `'jacobian'`: one entry ∂yᵢ/∂xⱼ of the full Jacobian (backward with one-hot dy against
 *   the central difference of y);
 * - `'projection'`: one random projection uᵀJv (backward with dy = u, dotted with v, against
 *   the directional central difference of uᵀy along v);
 * - `'float32'`: one output element of the float32 run (as "analytic") against the float64 run
 *   on the same inputs (as "numeric").
 */
export type WorstSource = 'gradient' | 'jacobian' | 'projection' | 'float32';

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

/** Which shapes a case comes from: the plugin's example shapes, or its large ones. */
export type CaseSize = 'example' | 'large';

/**
 * What a check varies, beyond its case (option set, mode, shape):
 *
 * - `'base'`: the float64 checks on contiguous inputs (gradients and the classic contract);
 * - `'dtype:float32'`: float32 values against the float64 run on the same inputs;
 * - `'dtype:mixed'`: x, dy and the parameters in different dtypes, as the plugin declares;
 * - `'layout:offset'`, `'layout:permuted'`, `'layout:negative-stride'`: every input as a view
 *   of that kind; `'layout:out'`: preallocated outputs, at offset 0 and inside a larger buffer;
 * - `'mode:identity'`: a `modeIndependent` declaration (train and eval give the same results);
 * - `'state'`: the next state against the plugin's declared state update.
 */
export type CheckVariant =
  | 'base'
  | 'dtype:float32'
  | 'dtype:mixed'
  | 'layout:offset'
  | 'layout:permuted'
  | 'layout:negative-stride'
  | 'layout:out'
  | 'mode:identity'
  | 'state';

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
  /** `'example'` (an example shape: full Jacobians when small) or `'large'` (a large shape: projections). */
  size: CaseSize;
  /** Whether `plugin.modes` lists the mode (false: checked because `forward` accepts every mode). */
  modeListed: boolean;
  /** What the check varies (see {@link CheckVariant}). */
  variant: CheckVariant;
}

/**
 * The variant of a check as people read it: the size when large, the mode when the plugin
 * does not list it, and the variant when not `'base'`, e.g.
 * `"size large, mode eval (not in plugin.modes), layout offset"`; `''` for a base check of an
 * example shape in a listed mode. Every failure message of a check with a non-empty variant
 * starts with it in brackets.
 */
export function describeVariant(label: Pick<CaseLabel, 'size' | 'modeListed' | 'mode' | 'variant'>): string {
  const parts: string[] = [];
  if (label.size === 'large') parts.push('size large');
  if (!label.modeListed) parts.push(`mode ${label.mode} (not in plugin.modes)`);
  if (label.variant !== 'base') parts.push(label.variant.replace(':', ' '));
  return parts.join(', ');
}

/**
 * The comparison of one gradient (`dx` or one parameter's) with finite differences, for
 * one option set × mode × shape.
 */
export interface TensorCheck extends CaseLabel {
  /**
   * Stable id: `plugin:mode:o<optionsIndex>:<shape as 4x3x5x5>:<tensor>`, with `:large` after
   * the shape for a large shape and `float32:` before the tensor for a float32 value check.
   */
  id: string;
  /**
   * `'x'` or the parameter name for a gradient check; for a float32 value check, the output
   * compared: `y`, `state.<name>`, `dx` or `grads.<name>`.
   */
  tensor: string;
  /**
   * `'full-jacobian'`: every Jacobian entry and every gradient element compared;
   * `'projection'`: random projections uᵀJv plus the gradient at a random subset of elements;
   * `'float32'`: every element of a float32 output against the float64 run on the same inputs.
   */
  method: 'full-jacobian' | 'projection' | 'float32';
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
  | 'layout'
  | 'mixed-dtypes'
  | 'mode-identity'
  | 'state-update'
  | 'eval-state'
  | 'large-shapes'
  | 'double-backward-purity'
  | 'double-backward-determinism'
  | 'double-backward-linearity'
  | 'double-backward-absent-dgrads'
  | 'double-backward-shapes-dtypes'
  | 'double-backward-float32'
  | 'double-backward-layout';

/** One property of the plugin beyond its Jacobian, for one option set × mode × shape. */
export interface ContractCheck extends CaseLabel {
  /** Stable id: `plugin:mode:o<optionsIndex>:<shape>:<name>` (`:large` after a large shape; invariants add `:<kind>`, layouts `:<layout>`). */
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
  /** Which shapes were checked: the example ones, the large ones, or both. */
  size: 'example' | 'large' | 'all';
  /** Random projections per tensor at the large shapes. */
  largeProjections: number;
  /** Gradient elements checked per tensor at the large shapes. */
  largeSubsetSize: number;
  /** Where the variant checks ran at the example size: one shape per option set, or every shape. */
  variantShapes: 'one' | 'all';
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
 *    max abs err, max rel err, and the variant (see {@link describeVariant}) when not a base check;
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
    `  ${passedChecks}/${report.checks.length} tensor checks passed, ${passedContracts}/${report.contracts.length} contract checks passed` +
      ` (seed ${report.seed}, size ${s.size}, rtol ${shortNumber(s.rtol)}, atol ${shortNumber(s.atol)}·scale, ${s.richardson ? 'Richardson' : 'central'} differences)`,
  );
  lines.push('');
  const rows: string[][] = [['', 'options', 'mode', 'shape', 'tensor', 'method', 'max abs err', 'max rel err', 'variant']];
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
      describeVariant(c),
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
      const [analytic, numeric] = c.method === 'float32' ? ['float32', 'float64'] : ['analytic', 'numeric'];
      const worstRows: string[][] = [['source', 'index', 'y index', analytic, numeric, 'abs err', 'rel err']];
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
