/**
 * normkit in a web page, in headless Chromium, under a strict Content-Security-Policy
 * (`script-src 'self' 'wasm-unsafe-eval'`): pages bundled with esbuild, served from memory on
 * 127.0.0.1, every request off the machine aborted and reported. Fails on any console error,
 * uncaught exception, CSP violation, failed request or off-machine request.
 *
 * Needs Chromium (`/usr/bin/chromium`, or `$CHROMIUM_PATH`): without it the suite fails with
 * a message saying how to install it, it does not skip.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setKernelBackendsEnabled } from '@normkit/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLiveView } from '../../../docs/live/compute.js';
import type { LiveInput, LiveView } from '../../../docs/live/compute.js';
import { formatCell } from '../../../docs/live/format.js';
import { bundleConformancePage, bundleModule, vectorFiles } from './bundle.js';
import { cspViolations, missingChromium, startSession, watchPage } from './chromium.js';
import type { PageProblems, Session } from './chromium.js';
import { STRICT_CSP, servePages } from './csp-server.js';
import type { PageServer } from './csp-server.js';
import { livePageFiles } from './live-page.js';
import { FAMILY_SEED } from './pages/conformance-page.js';
import type { BrowserCheckResults } from './pages/conformance-page.js';
import { runFamily } from './pages/family.js';
import type { FamilyRun } from './pages/family.js';
import { outputDir, pagesDir } from './paths.js';

const HTML = (title: string, script: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="live/favicon.svg"></head><body><h1>${title}</h1><script type="module" src="${script}"></script></body></html>`;

/** The negative control: the `ndarray` package's constructor, which builds its classes with `new Function`. */
const NDARRAY_PAGE = `
import ndarray from 'ndarray';
try {
  ndarray(new Float32Array(4), [2, 2]);
  document.body.dataset.result = 'constructed';
} catch (e) {
  document.body.dataset.result = e instanceof Error ? e.name : String(e);
}
`;

let server: PageServer;
let session: Session;

/** Opens a page and records what goes wrong on it. */
async function open(path: string, ready: string): Promise<{ page: Page; problems: PageProblems }> {
  const page = await session.context.newPage();
  const problems = watchPage(page);
  await page.goto(server.url + path, { waitUntil: 'load' });
  await page.waitForSelector(ready, { state: 'attached', timeout: 60_000 });
  return { page, problems };
}

/** Every problem of a page: console errors, exceptions, failed requests, CSP violations. */
async function everyProblem(page: Page, problems: PageProblems): Promise<string[]> {
  return [...problems.errors, ...(await cspViolations(page)).map((v) => `CSP violation: ${v}`)];
}

/**
 * Node and the browser run the same code on the same float32 inputs with the same kernels
 * (the same wasm module, or the same TypeScript); the values agree to a few float32 roundings
 * (relative 1e-6 of the array's largest magnitude, about 8 units in the last place).
 */
function expectClose(actual: readonly number[], expected: readonly number[], label: string): void {
  expect(actual.length, label).toBe(expected.length);
  const scale = Math.max(1, ...expected.map(Math.abs));
  const worst = Math.max(0, ...actual.map((a, i) => Math.abs(a - expected[i])));
  expect(worst, `${label}: largest difference`).toBeLessThanOrEqual(1e-6 * scale);
}

function expectFamilyMatches(browser: readonly FamilyRun[], node: readonly FamilyRun[], path: string): void {
  expect(browser.map((r) => r.name)).toEqual(node.map((r) => r.name));
  browser.forEach((run, k) => {
    const ref = node[k];
    const label = `${path} ${run.name}`;
    expect(run.shape, label).toEqual(ref.shape);
    expectClose(run.y, ref.y, `${label} y`);
    expectClose(run.dx, ref.dx, `${label} dx`);
    expect(Object.keys(run.grads).sort(), label).toEqual(Object.keys(ref.grads).sort());
    for (const name of Object.keys(ref.grads)) expectClose(run.grads[name], ref.grads[name], `${label} d${name}`);
    for (const name of Object.keys(ref.state)) expectClose(run.state[name], ref.state[name], `${label} state ${name}`);
  });
}

function nodeFamily(path: 'wasm' | 'typescript'): FamilyRun[] {
  setKernelBackendsEnabled(path === 'wasm');
  try {
    return runFamily(FAMILY_SEED);
  } finally {
    setKernelBackendsEnabled(true);
  }
}

beforeAll(async () => {
  const missing = missingChromium();
  if (missing !== null) throw new Error(missing);
  const [conformance, live, control] = await Promise.all([
    bundleConformancePage(),
    livePageFiles(),
    bundleModule({ contents: NDARRAY_PAGE, resolveDir: pagesDir }),
  ]);
  const files = new Map<string, string>([
    ['conformance.html', HTML('normkit: the PyTorch vectors in the browser', 'conformance.js')],
    ['conformance.js', conformance.code],
    ['ndarray.html', HTML('the ndarray package under the same policy', 'ndarray.js')],
    ['ndarray.js', control.code],
  ]);
  for (const [name, contents] of live) files.set(`live/${name}`, contents);
  server = await servePages(files);
  session = await startSession(server.url);
  mkdirSync(outputDir, { recursive: true });
});

afterAll(async () => {
  await session?.close();
  await server?.close();
});

describe('normkit in a bundled page under a strict Content-Security-Policy', () => {
  it('serves every page with the policy', async () => {
    const response = await fetch(server.url + 'conformance.html');
    expect(response.headers.get('content-security-policy')).toBe(STRICT_CSP);
    expect(STRICT_CSP).toContain("script-src 'self' 'wasm-unsafe-eval'");
  });

  it("catches a violation: the ndarray package's new Function is refused under the same policy", async () => {
    const { page, problems } = await open('ndarray.html', 'body[data-result]');
    const result = await page.getAttribute('body', 'data-result');
    expect(result).toBe('EvalError');
    const all = await everyProblem(page, problems);
    expect(all.some((p) => p.startsWith('CSP violation: script-src'))).toBe(true);
    await page.close();
  });

  it('passes every PyTorch vector in float32 on the wasm path and on the TypeScript path, and runs every normalizer forward and backward on both', async () => {
    const { page, problems } = await open('conformance.html', 'body[data-done]');
    const results = (await page.evaluate(() => (globalThis as { normkitBrowserCheck?: unknown }).normkitBrowserCheck)) as BrowserCheckResults;
    await page.screenshot({ path: join(outputDir, 'conformance.png') });
    expect(results.error).toBeNull();
    expect(results.wasmInstalled).toBe(true);
    expect(results.wasmInstalledOnImport).toBe(true);
    expect(results.backends).toContain('wasm-simd-default');
    expect(results.paths.map((p) => p.path)).toEqual(['wasm', 'typescript']);
    const files = vectorFiles();
    for (const pass of results.paths) {
      expect(pass.cases).toHaveLength(files.length);
      const notPassed = pass.cases.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.status} ${c.message}`);
      expect(notPassed, `${pass.path} path`).toEqual([]);
      expect(pass.family).toHaveLength(10);
    }
    // The wasm pass ran the wasm kernels; the TypeScript pass did not.
    expect(results.paths[0].wasmCalls).toBeGreaterThan(100);
    expect(results.paths[1].wasmCalls).toBe(0);
    expectFamilyMatches(results.paths[0].family, nodeFamily('wasm'), 'wasm');
    expectFamilyMatches(results.paths[1].family, nodeFamily('typescript'), 'typescript');
    expect(await everyProblem(page, problems)).toEqual([]);
    await page.close();
  });

  it("renders the docs' live page, and its numbers match Node's for the same choices", async () => {
    const { page, problems } = await open('live/index.html', 'body[data-renders="1"]');
    const choices: LiveInput[] = [
      { normalizer: 'batch-norm', batchSize: 8, seed: 1, kernels: 'wasm' },
      { normalizer: 'group-norm', batchSize: 4, seed: 7, kernels: 'typescript' },
      { normalizer: 'layer-norm', batchSize: 16, seed: 3, kernels: 'wasm' },
      { normalizer: 'instance-norm', batchSize: 2, seed: 11, kernels: 'wasm' },
      { normalizer: 'rms-norm', batchSize: 32, seed: 5, kernels: 'typescript' },
    ];
    expect(await page.evaluate(() => (globalThis as { normkitLive?: { wasm: boolean } }).normkitLive?.wasm)).toBe(true);
    for (const choice of choices) {
      const renders = Number(await page.getAttribute('body', 'data-renders'));
      await page.selectOption('#normalizer', choice.normalizer);
      await page.selectOption('#batch-size', String(choice.batchSize));
      await page.selectOption('#kernels', choice.kernels);
      await page.fill('#seed', String(choice.seed));
      await page.dispatchEvent('#seed', 'change', { bubbles: true });
      await page.waitForFunction(
        ([n, wanted]) => {
          const shown = (globalThis as { normkitLive?: { view: LiveView | null } }).normkitLive?.view?.input;
          return Number(document.body.dataset.renders) > n && JSON.stringify(shown) === wanted;
        },
        [renders, JSON.stringify(choice)] as const,
      );
      const view = (await page.evaluate(() => (globalThis as { normkitLive?: { view: unknown } }).normkitLive?.view)) as LiveView;
      const node = computeLiveView(choice);
      const label = `${choice.normalizer} N=${choice.batchSize} seed ${choice.seed} ${choice.kernels}`;
      expect(view.input, label).toEqual(choice);
      expect(view.shape, label).toEqual([choice.batchSize, 4, 4, 4]);
      for (const key of ['before', 'after', 'upstream', 'gradient'] as const) {
        expect(view[key].counts, `${label} ${key} histogram`).toEqual(node[key].counts);
        expectClose([view[key].lo, view[key].hi], [node[key].lo, node[key].hi], `${label} ${key} range`);
      }
      const numbers = (v: LiveView) => v.channels.flatMap((c) => [c.meanBefore, c.stdBefore, c.meanAfter, c.stdAfter, c.rmsDx, c.dweight ?? 0, c.dbias ?? 0]);
      expectClose(numbers(view), numbers(node), `${label} per-channel statistics`);
      expectClose(
        view.channels.map((c) => c.sumDx),
        node.channels.map((c) => c.sumDx),
        `${label} Σ dx`,
      );
      // The table shows Node's numbers, as the page formats them.
      const cells = await page.locator('#channel-stats tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      const expectedCells = node.channels.map((c) => [
        String(c.channel),
        formatCell(c.meanBefore),
        formatCell(c.stdBefore),
        formatCell(c.meanAfter),
        formatCell(c.stdAfter),
        formatCell(c.sumDx, 'sum'),
        formatCell(c.rmsDx),
        formatCell(c.dweight),
        formatCell(c.dbias),
      ]);
      // Σ dx is a sum of float32 values cancelling to ~0: its digits are rounding noise, compared above.
      expect(cells.map((r) => r.filter((_, i) => i !== 5)), label).toEqual(expectedCells.map((r) => r.filter((_, i) => i !== 5)));
      expect(await page.locator('.chart rect').count(), label).toBe(4 * 24);
    }
    // Batch norm's promise, read off the page: every channel at mean 0 and standard deviation ~1.
    await page.selectOption('#normalizer', 'batch-norm');
    await page.waitForFunction(() => (globalThis as { normkitLive?: { view: LiveView | null } }).normkitLive?.view?.input.normalizer === 'batch-norm');
    const bn = (await page.evaluate(() => (globalThis as { normkitLive?: { view: unknown } }).normkitLive?.view)) as LiveView;
    for (const c of bn.channels) {
      expect(Math.abs(c.meanAfter)).toBeLessThan(1e-5);
      // std after = σ / sqrt(σ² + ε): within 1e-5 / (2σ²) of 1, σ ≥ 0.4 here.
      expect(Math.abs(c.stdAfter - 1)).toBeLessThan(1e-4);
    }
    await page.screenshot({ path: join(outputDir, 'live.png'), fullPage: true });
    expect(await everyProblem(page, problems)).toEqual([]);
    await page.close();
  });

  it('sent no request off the machine and asked for no missing file', () => {
    expect(session.offMachine).toEqual([]);
    expect(server.missing).toEqual([]);
  });
});
