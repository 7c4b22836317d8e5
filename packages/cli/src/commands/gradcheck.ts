import type { Normalizer, Registry } from '@normkit/core';
import { isNormkitError } from '@normkit/core';
import { checkGradients, checkSecondOrder, describeVariant } from '@normkit/gradcheck';
import type { GradcheckReport, GradcheckSize } from '@normkit/gradcheck';
import { UsageError, parseArgs } from '../args.js';
import type { Io } from '../io.js';
import { loadPluginModule, looksLikePath } from '../load-plugin.js';
import { gradcheckText } from './gradcheck-text.js';

/** One entry of `normkit gradcheck --json`: a tensor check (plugin × options × mode × shape × tensor) or a contract check. */
export interface GradcheckJsonEntry {
  /** The check's id, e.g. `batch-norm:train:o0:4x3x5x5:weight`. */
  id: string;
  /** The plugin's `meta.name`. */
  plugin: string;
  /** The option set checked, as JSON. */
  options: string;
  /** `'train'` or `'eval'`, or `'*'` for a summary of contract checks. */
  mode: string;
  /** The input shape checked. */
  shape: number[];
  /** `x`, a parameter name, or `contract:<name>` for a contract check. */
  tensor: string;
  /** What the check varies, as gradcheck describes it (`''` for a base check; e.g. `size large, layout offset`). */
  variant: string;
  /** The verdict; `'skipped'` for a plugin without `doubleBackward` under `--order 2` (one entry, tensor `*`). */
  status: 'pass' | 'fail' | 'skipped';
  /** Largest absolute error between analytic and numeric values; `null` when not finite. */
  maxAbsErr: number | null;
  /** Largest relative error (CS231n's); `null` when not finite. */
  maxRelErr: number | null;
  /** What failed, or `''`. */
  message: string;
}

/** The JSON printed by `normkit gradcheck --json` (the shape of the conformance JSON). */
export interface GradcheckJson {
  /** One entry per plugin × options × mode × shape × tensor, then the contract checks. */
  readonly cases: readonly GradcheckJsonEntry[];
  /** How many entries passed. */
  readonly passed: number;
  /** How many entries failed. */
  readonly failed: number;
  /** Plugins skipped: under `--order 2`, those without `doubleBackward` (0 at order 1). */
  readonly skipped: number;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Flattens a report into JSON entries: every tensor check, then every contract check (one `skipped` entry for a skipped report). */
export function reportEntries(report: GradcheckReport): GradcheckJsonEntry[] {
  if (report.skipped !== undefined) {
    return [
      { id: `${report.plugin}:skipped`, plugin: report.plugin, options: '', mode: '*', shape: [], tensor: '*', variant: '', status: 'skipped', maxAbsErr: null, maxRelErr: null, message: report.skipped },
    ];
  }
  const tensors = report.checks.map((c) => ({
    id: c.id,
    plugin: c.plugin,
    options: c.options,
    mode: c.mode,
    shape: c.shape,
    tensor: c.tensor,
    variant: describeVariant(c),
    status: c.ok ? ('pass' as const) : ('fail' as const),
    maxAbsErr: finiteOrNull(c.maxAbsErr),
    maxRelErr: finiteOrNull(c.maxRelErr),
    message: c.message,
  }));
  const contracts = report.contracts.map((c) => ({
    id: c.id,
    plugin: c.plugin,
    options: c.options,
    mode: c.mode,
    shape: c.shape,
    tensor: `contract:${c.name}`,
    variant: describeVariant(c),
    status: c.ok ? ('pass' as const) : ('fail' as const),
    maxAbsErr: null,
    maxRelErr: null,
    message: c.message,
  }));
  return [...tensors, ...contracts];
}

/** The values of `normkit gradcheck --size`: which shapes of each plugin are checked. */
const GRADCHECK_SIZES: readonly GradcheckSize[] = ['example', 'large', 'all'];

/**
 * `normkit gradcheck [NAME|PATH ...] [--seed N] [--size example|large|all] [--variant-shapes one|all] [--order 1|2] [--json]`:
 * checks built-in plugins by name (all when none is named) or a user's ES module by path, at their
 * example shapes (default), their large shapes (`--size large`, projection mode) or both, with
 * the variant checks at one example shape per option set (default) or at every one
 * (`--variant-shapes all`). `--order 2` checks each plugin's optional `doubleBackward` against
 * finite differences of its `backward` (`checkSecondOrder`, at the shapes `--size` picks); a
 * plugin without that member is reported as skipped, not as a failure. Exit 0 when nothing
 * fails, 1 otherwise.
 */
export async function gradcheckCommand(argv: readonly string[], io: Io, registry: Registry): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['seed', 'size', 'order', 'variant-shapes'], ['json']);
  const orderText = flags.get('order') ?? '1';
  if (orderText !== '1' && orderText !== '2') throw new UsageError(`--order: expected 1 or 2, got ${String(orderText)}`);
  const order = orderText === '2' ? 2 : 1;
  const seedText = flags.get('seed');
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed: expected a non-negative integer, got ${String(seedText)}`);
  const sizeText = flags.get('size') ?? 'example';
  const size = GRADCHECK_SIZES.find((s) => s === sizeText);
  if (size === undefined) throw new UsageError(`--size: expected ${GRADCHECK_SIZES.join(', ')}, got ${String(sizeText)}`);
  const variantShapesText = flags.get('variant-shapes') ?? 'one';
  if (variantShapesText !== 'one' && variantShapesText !== 'all') throw new UsageError(`--variant-shapes: expected one or all, got ${String(variantShapesText)}`);
  if (order === 2 && flags.has('variant-shapes')) throw new UsageError('--variant-shapes: order 2 runs no variants (float64 contiguous inputs only); use it with --order 1');
  const variantShapes = variantShapesText;
  const json = flags.has('json');
  const targets = positionals.length > 0 ? positionals : registry.list();
  // Resolve every target before checking any, so a typo fails fast with exit code 2.
  const plugins: Normalizer[] = [];
  for (const target of targets) {
    if (looksLikePath(target)) plugins.push(await loadPluginModule(target));
    else if (registry.has(target)) plugins.push(registry.get(target));
    else {
      // `rmsnorm`, `RMS_norm`, `batchnorm`: the built-in name with the same letters, when there is one.
      const letters = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
      const near = registry.list().find((name) => letters(name) === letters(target));
      const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
      throw new UsageError(`unknown plugin ${JSON.stringify(target)}${hint}; built-in plugins: ${registry.list().join(', ')}`);
    }
  }
  const entries: GradcheckJsonEntry[] = [];
  const reports: GradcheckReport[] = [];
  for (const plugin of plugins) {
    io.err(`gradcheck ${plugin.meta.name} … `);
    const started = performance.now();
    let report: GradcheckReport;
    try {
      report = order === 2 ? checkSecondOrder(plugin, { seed, size }) : checkGradients(plugin, { seed, size, variantShapes });
    } catch (e) {
      if (isNormkitError(e)) throw new UsageError(`${plugin.meta.name}: ${e.message}`);
      throw e;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const own = reportEntries(report);
    const failures = own.filter((e) => e.status === 'fail').length;
    if (report.skipped !== undefined) io.err(`skipped: ${report.skipped}\n`);
    else io.err(`${own.length - failures} passed, ${failures} failed (${seconds} s)\n`);
    entries.push(...own);
    reports.push(report);
  }
  const passed = entries.filter((e) => e.status === 'pass').length;
  const skipped = entries.filter((e) => e.status === 'skipped').length;
  const failed = entries.length - passed - skipped;
  if (json) {
    const payload: GradcheckJson = { cases: entries, passed, failed, skipped };
    io.out(`${JSON.stringify(payload, null, 2)}\n`);
    return failed > 0 ? 1 : 0;
  }
  io.out(gradcheckText(reports));
  io.out(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  return failed > 0 ? 1 : 0;
}
