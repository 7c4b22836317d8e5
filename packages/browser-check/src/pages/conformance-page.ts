/**
 * The conformance page: every PyTorch vector of `@normkit/conformance` through the built-in
 * plugins in float32, once on the WebAssembly path and once on the TypeScript path, and every
 * plugin forward and backward on seeded inputs ({@link runFamily}) on both paths. Bundled by
 * esbuild with the vectors inlined; the results land in `globalThis.normkitBrowserCheck` and
 * in a table on the page.
 */
import { parseCase, pluginFor, runCase, skippedCase, sortCases } from '@normkit/conformance';
import type { CaseResult } from '@normkit/conformance';
import { listKernelRegistrations, setKernelBackendsEnabled } from '@normkit/core';
import { defaultWasm, installDefaultWasm } from '@normkit/wasm';
import { FAMILY, runFamily } from './family.js';
import type { FamilyRun } from './family.js';

/** The kernels a pass runs on. */
export type KernelPath = 'wasm' | 'typescript';

/** One path's results. */
export interface PathResults {
  /** Which kernels. */
  readonly path: KernelPath;
  /** Every case's verdict, sorted by id. */
  readonly cases: readonly CaseResult[];
  /** Every plugin's forward and backward on seeded inputs. */
  readonly family: readonly FamilyRun[];
  /** Engine kernel calls the wasm backend handled during this pass. */
  readonly wasmCalls: number;
}

/** What the page publishes in `globalThis.normkitBrowserCheck`. */
export interface BrowserCheckResults {
  /** Whether the zero-config wasm backend installed. */
  readonly wasmInstalled: boolean;
  /** Whether it was installed when the page's modules had been imported: compiled synchronously on the main thread. */
  readonly wasmInstalledOnImport: boolean;
  /** The backends in core's kernel registry. */
  readonly backends: readonly string[];
  /** The wasm pass, then the TypeScript pass. */
  readonly paths: readonly PathResults[];
  /** An error that stopped the page, or `null`. */
  readonly error: string | null;
}

/** The seed of the family runs (the test runs the same in Node). */
export const FAMILY_SEED = 20231;

function cell(row: HTMLTableRowElement, text: string): void {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
}

function render(results: BrowserCheckResults): void {
  const summary = document.createElement('p');
  summary.id = 'summary';
  const table = document.createElement('table');
  for (const pass of results.paths) {
    for (const c of pass.cases) {
      const row = table.insertRow();
      cell(row, pass.path);
      cell(row, c.id);
      cell(row, c.status);
      cell(row, c.maxAbsErr.toExponential(2));
    }
  }
  const counts = results.paths.map((p) => `${p.path}: ${p.cases.filter((c) => c.status === 'pass').length}/${p.cases.length} pass, ${p.wasmCalls} wasm kernel calls`);
  summary.textContent = results.error ?? counts.join('; ');
  document.body.append(summary, table);
}

function runPath(path: KernelPath, cases: readonly ReturnType<typeof parseCase>[], calls: () => number): PathResults {
  setKernelBackendsEnabled(path === 'wasm');
  const before = calls();
  const verdicts = cases.map((c) => {
    const plugin = pluginFor(c, FAMILY);
    return plugin === undefined ? skippedCase(c) : runCase(c, plugin, { dtype: 'float32' });
  });
  const family = runFamily(FAMILY_SEED);
  const wasmCalls = calls() - before;
  setKernelBackendsEnabled(true);
  return { path, cases: verdicts, family, wasmCalls };
}

/**
 * Runs both passes and publishes the results.
 *
 * @param vectors - every vector file: its name and its parsed JSON
 */
export async function runConformancePage(vectors: readonly { name: string; json: unknown }[]): Promise<void> {
  const holder = globalThis as { normkitBrowserCheck?: BrowserCheckResults };
  let results: BrowserCheckResults;
  try {
    // The normalizer packages imported '@normkit/wasm/auto': installed by now unless the
    // synchronous compile was refused (then `undefined` while compiling asynchronously).
    const onImport = installDefaultWasm();
    const cases = sortCases(vectors.map((v) => parseCase(v.json, v.name)));
    const wasm = await defaultWasm();
    const calls = () => wasm?.counters.handled ?? 0;
    const backends = [...new Set(listKernelRegistrations().map((r) => r.backend))];
    results = { wasmInstalled: wasm !== null, wasmInstalledOnImport: onImport !== undefined && onImport !== null, backends, paths: [runPath('wasm', cases, calls), runPath('typescript', cases, calls)], error: null };
  } catch (e) {
    results = { wasmInstalled: false, wasmInstalledOnImport: false, backends: [], paths: [], error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  holder.normkitBrowserCheck = results;
  render(results);
  document.body.dataset.done = 'true';
}
