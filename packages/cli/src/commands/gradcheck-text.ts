import { describeVariant, formatNumber } from '@normkit/gradcheck';
import type { CaseLabel, GradcheckReport, TensorCheck } from '@normkit/gradcheck';
import { formatError, indent, table } from '../io.js';

const CONTRACTS_PASSED = 'purity, determinism, zero dy, linearity, shapes, invariants, layouts, dtypes, modes, state';
const SECOND_ORDER_CONTRACTS_PASSED = 'doubleBackward purity, determinism, linearity, absent dgrads, shapes, float32, layouts';

/** A tensor name with the check's variant, e.g. `dx [dtype float32]`; the name alone for a base check. */
function withVariant(tensorName: string, label: CaseLabel): string {
  const variant = describeVariant(label);
  return variant === '' ? tensorName : `${tensorName} [${variant}]`;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function short(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

function valueText(v: number): string {
  return Number.isFinite(v) ? (v >= 0 ? ' ' : '') + v.toPrecision(10) : formatNumber(v);
}

/** Where a check ran, in full: plugin, what was differentiated, mode, shape, options. */
function where(c: Pick<TensorCheck, 'plugin' | 'mode' | 'shape' | 'options'>, what: string): string {
  return `${c.plugin}  ${what}  ${c.mode}  ${shapeText(c.shape)}  ${c.options}`;
}

/**
 * What a check's message says was thrown (the text after its last "threw: "), or `null` when it
 * reports no throw: the key that groups the same error met by many checks.
 *
 * @param message - a check's or contract's message
 * @returns the error's own text, or `null`
 */
function thrownPart(message: string): string | null {
  const at = message.lastIndexOf('threw: ');
  return at < 0 ? null : message.slice(at + 'threw: '.length);
}

/**
 * The text `normkit gradcheck` prints, once: a table with one row per tensor check and one
 * contract row per plugin (options in full, as the last column), then the details of every
 * failure (what failed and its worst entries), then one summary line per plugin, then
 * `N passed, N failed`.
 *
 * @param reports - one report per plugin checked
 * @returns the text, ending in a newline
 */
export function gradcheckText(reports: readonly GradcheckReport[]): string {
  const rows: string[][] = [['STATUS', 'PLUGIN', 'MODE', 'SHAPE', 'TENSOR', 'MAX ABS ERR', 'MAX REL ERR', 'OPTIONS']];
  for (const report of reports) {
    if (report.skipped !== undefined) {
      rows.push(['SKIP', report.plugin, '*', '*', '*', '', '', 'no doubleBackward member (order 2 not applicable)']);
      continue;
    }
    for (const c of report.checks) {
      rows.push([c.ok ? 'PASS' : c.status === 'error' ? 'ERROR' : 'FAIL', c.plugin, c.mode, shapeText(c.shape), withVariant(c.tensor, c), formatError(c.maxAbsErr), formatError(c.maxRelErr), c.options]);
    }
    const contractFailures = report.contracts.filter((c) => !c.ok).length;
    rows.push([
      contractFailures === 0 ? 'PASS' : 'FAIL',
      report.plugin,
      '*',
      '*',
      `${report.contracts.length} contract checks`,
      '',
      '',
      contractFailures > 0 ? `${contractFailures} failed (see below)` : report.order === 2 ? SECOND_ORDER_CONTRACTS_PASSED : CONTRACTS_PASSED,
    ]);
  }
  let text = table(rows);

  const failures: string[] = [];
  for (const report of reports) {
    // A plugin that throws usually throws the same error for every check, behind different
    // prefixes ("threw:", "backward threw:", "[layout offset] float64: the contiguous run threw:"):
    // print it once, then where else it came.
    const sameError = new Map<string, string[]>();
    const seenBefore = (message: string, place: string): boolean => {
      const error = thrownPart(message);
      if (error === null) return false;
      const seen = sameError.get(error);
      if (seen === undefined) {
        sameError.set(error, []);
        return false;
      }
      seen.push(place);
      return true;
    };
    for (const c of report.contracts.filter((k) => !k.ok)) {
      if (seenBefore(c.message, `contract ${c.name} ${c.mode} ${shapeText(c.shape)} ${c.options}`)) continue;
      const status = c.status === 'error' || thrownPart(c.message) !== null ? 'ERROR' : c.status.toUpperCase();
      failures.push(`${status}  ${where(c, `contract ${c.name}`)}\n  ${c.message}\n`);
    }
    for (const c of report.checks.filter((k) => !k.ok)) {
      if (c.worst.length === 0 && seenBefore(c.message, `${withVariant(c.tensor, c)} ${c.mode} ${shapeText(c.shape)} ${c.options}`)) continue;
      let block = `${c.status.toUpperCase()}  ${where(c, withVariant(c.tensor, c))}  (${c.method === 'full-jacobian' ? 'full Jacobian' : c.method === 'projection' ? 'random projections' : c.method})\n  ${c.message}\n`;
      if (c.worst.length > 0) {
        const worst = [['source', 'index', 'y index', 'analytic', 'numeric', 'abs err', 'rel err']];
        for (const w of c.worst) {
          worst.push([w.source, shapeText(w.index), w.output === undefined ? '' : shapeText(w.output), valueText(w.analytic), valueText(w.numeric), formatNumber(w.absErr), formatNumber(w.relErr)]);
        }
        block += indent(table(worst));
      }
      failures.push(block);
    }
    for (const [error, others] of sameError) {
      if (others.length === 0) continue;
      const shown = others.slice(0, 3).join('; ');
      failures.push(`ERROR  the same error in ${others.length} more check${others.length === 1 ? '' : 's'}: ${shown}${others.length > 3 ? '; …' : ''}\n  threw: ${error}\n`);
    }
  }
  if (failures.length > 0) {
    const settings = reports[0].settings;
    text +=
      `\nFailures (seed ${reports[0].seed}; a value fails when |analytic − numeric| > ${short(settings.atol)}·scale + ${short(settings.rtol)}·|numeric|):\n` +
      failures.map((f) => indent(f)).join('\n');
  }

  const summary = [['PLUGIN', 'VERSION', 'RESULT']];
  for (const report of reports) {
    if (report.skipped !== undefined) {
      summary.push([report.plugin, report.version, `SKIP  ${report.skipped}`]);
      continue;
    }
    const passed = report.checks.filter((c) => c.ok).length + report.contracts.filter((c) => c.ok).length;
    const failed = report.checks.length + report.contracts.length - passed;
    const failedNames = [...new Set([...report.checks.filter((c) => !c.ok).map((c) => c.tensor), ...report.contracts.filter((c) => !c.ok).map((c) => `contract ${c.name}`)])];
    summary.push([report.plugin, report.version, `${report.ok ? 'PASS' : 'FAIL'}  ${passed} passed, ${failed} failed${failedNames.length > 0 ? `: ${failedNames.join(', ')}` : ''}`]);
  }
  text += `\nSummary:\n${indent(table(summary))}`;
  return text;
}
