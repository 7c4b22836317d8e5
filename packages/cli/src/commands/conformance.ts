import { loadCases, pluginFor, runCase, skippedCase } from '@normkit/conformance';
import type { CaseResult } from '@normkit/conformance';
import { isNormkitError } from '@normkit/core';
import type { Registry } from '@normkit/core';
import { UsageError, parseArgs } from '../args.js';
import type { Io } from '../io.js';
import { formatError, indent, table } from '../io.js';
import { loadPluginModule } from '../load-plugin.js';

/** The JSON printed by `normkit conformance --json`. */
export interface ConformanceJson {
  /** One entry per case. */
  readonly cases: readonly {
    /** The case id (the file name without `.json`). */
    id: string;
    /** The golden layer, e.g. `batch_norm`. */
    layer: string;
    /** `skipped` when no built-in plugin implements the layer. */
    status: 'pass' | 'fail' | 'skipped';
    /** Largest absolute error over the compared arrays; `null` when not finite. */
    maxAbsErr: number | null;
    /** Largest relative error over the compared arrays; `null` when not finite. */
    maxRelErr: number | null;
    /** What failed, what was raised, or what was not checked. */
    message: string;
    /**
     * Present on second-order cases: `'checked'` when their second-order arrays were compared
     * through the plugin's `doubleBackward`, `'skipped'` when the plugin has none.
     */
    secondOrder?: 'checked' | 'skipped';
  }[];
  /** How many passed. */
  readonly passed: number;
  /** How many failed. */
  readonly failed: number;
  /** How many had no plugin. */
  readonly skipped: number;
}

/** JSON has no Infinity: a crashed case reports `null` errors. */
function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** The note of a case line, in words: what failed, why it was skipped, what was not checked. */
export function caseNote(result: CaseResult): string {
  if (result.status === 'skipped') {
    return `not run: no built-in plugin implements PyTorch's ${result.layer} (a plugin declares the layer it implements in pytorch.layer)`;
  }
  const parts = result.message === '' ? [] : [result.message];
  if (result.secondOrder === 'skipped') parts.push("its second-order values (PyTorch's double backward) were not compared");
  return parts.join('; ');
}

/**
 * `normkit conformance [DIR] [--plugin PATH] [--dtype float64|float32] [--json]`: every
 * `*.json` case in DIR (default: the vectors shipped in `@normkit/conformance`) through the
 * built-in plugin that declares its layer (`pytorch.layer`, found with `pluginFor`). With
 * `--plugin`, the cases of the layer that the user's plugin declares run through it, and only
 * those. Exit 0 when none fails, 1 otherwise.
 */
export async function conformanceCommand(argv: readonly string[], io: Io, registry: Registry): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['dtype', 'plugin'], ['json']);
  if (positionals.length > 1) throw new UsageError('usage: normkit conformance [DIR] [--plugin PATH] [--dtype float64|float32] [--json] (one folder at most)');
  const dtype = flags.get('dtype') ?? 'float64';
  if (dtype !== 'float64' && dtype !== 'float32') throw new UsageError(`--dtype: expected float64 or float32, got ${String(dtype)}`);
  const json = flags.has('json');
  const pluginPath = flags.get('plugin');
  if (pluginPath === true) throw new UsageError('--plugin: expected the path of your plugin module, e.g. --plugin ./dist/my-norm.js');
  let cases;
  try {
    cases = positionals.length === 0 ? loadCases() : loadCases(positionals[0]);
  } catch (e) {
    if (isNormkitError(e)) throw new UsageError(e.message);
    throw e;
  }
  let plugins = registry.plugins();
  let origin = 'built-in';
  if (pluginPath !== undefined) {
    const own = await loadPluginModule(pluginPath);
    const layer = own.pytorch?.layer;
    if (layer === undefined) {
      throw new UsageError(`--plugin ${pluginPath}: ${own.meta.name} declares no PyTorch layer (pytorch.layer, e.g. 'rms_norm'), so no case can run through it`);
    }
    cases = cases.filter((c) => c.layer === layer);
    if (cases.length === 0) throw new UsageError(`--plugin ${pluginPath}: no case of PyTorch's ${layer} (the layer ${own.meta.name} declares) in ${positionals[0] ?? 'the shipped vectors'}`);
    plugins = [own];
    origin = 'your';
  }
  const results: CaseResult[] = [];
  const byLayer = new Map<string, { plugin: string; results: CaseResult[] }>();
  if (!json) io.out(table([['STATUS ', 'CASE'.padEnd(38), 'MAX ABS ERR', 'MAX REL ERR', 'NOTE']]));
  for (const c of cases) {
    const plugin = pluginFor(c, plugins);
    const result = plugin !== undefined ? runCase(c, plugin, { dtype }) : skippedCase(c);
    results.push(result);
    const group = byLayer.get(c.layer) ?? { plugin: plugin?.meta.name ?? '(none)', results: [] };
    group.results.push(result);
    byLayer.set(c.layer, group);
    if (!json) {
      io.out(table([[result.status.toUpperCase().padEnd(7), c.id.padEnd(38), formatError(result.maxAbsErr).padEnd(11), formatError(result.maxRelErr).padEnd(11), caseNote(result)]]));
    }
  }
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skipped').length;
  if (!json) {
    const rows = [['PYTORCH LAYER', 'PLUGIN', 'RESULT']];
    for (const [layer, group] of [...byLayer].sort(([a], [b]) => a.localeCompare(b))) {
      const count = (status: CaseResult['status']) => group.results.filter((r) => r.status === status).length;
      const failures = group.results.filter((r) => r.status === 'fail').map((r) => r.id);
      const verdict = count('skipped') === group.results.length
        ? `${group.results.length} skipped: no ${origin} plugin implements it`
        : `${count('pass')} passed, ${count('fail')} failed${failures.length > 0 ? ` (${failures.join(', ')})` : ''}`;
      rows.push([layer, group.plugin, verdict]);
    }
    io.out(`\nSummary (${dtype}):\n${indent(table(rows))}`);
  }
  if (json) {
    const payload: ConformanceJson = {
      cases: results.map((r) => ({ ...r, maxAbsErr: finiteOrNull(r.maxAbsErr), maxRelErr: finiteOrNull(r.maxRelErr) })),
      passed,
      failed,
      skipped,
    };
    io.out(`${JSON.stringify(payload, null, 2)}\n`);
  } else {
    io.out(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
  return failed > 0 ? 1 : 0;
}
