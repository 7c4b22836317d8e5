import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** The system Chromium: `$CHROMIUM_PATH`, or Debian's `/usr/bin/chromium`. */
export const chromiumPath: string = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or `null` when Chromium is installed. */
export function missingChromium(): string | null {
  return existsSync(chromiumPath)
    ? null
    : `no Chromium at ${chromiumPath}: the browser tests need it. Install it (Debian: apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`;
}

/** A headless browser whose pages can reach only one origin. */
export interface Session {
  /** The browser. */
  readonly browser: Browser;
  /** The context every page opens in. */
  readonly context: BrowserContext;
  /** Requests to anywhere but the origin (aborted). */
  readonly offMachine: string[];
  /** Closes the browser. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium (playwright-core drives the system's; it downloads nothing) with a
 * context that aborts and records every request not to `origin`.
 *
 * @param origin - the local server's URL, e.g. `http://127.0.0.1:PORT/`
 */
export async function startSession(origin: string): Promise<Session> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const offMachine: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin)) return route.continue();
    offMachine.push(url);
    return route.abort('blockedbyclient');
  });
  // Record every Content-Security-Policy violation the page reports (in addition to the
  // console message Chromium prints for it).
  await context.addInitScript(() => {
    const seen: string[] = [];
    (globalThis as { normkitCspViolations?: string[] }).normkitCspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective}: ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
  });
  return { browser, context, offMachine, close: () => browser.close() };
}

/** What went wrong while a page was open. */
export interface PageProblems {
  /** Console errors, uncaught exceptions, failed requests and HTTP errors. */
  readonly errors: string[];
}

/**
 * Records a page's console errors, uncaught exceptions, failed requests and HTTP errors.
 *
 * @param page - the page
 */
export function watchPage(page: Page): PageProblems {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.name}: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { errors };
}

/**
 * The CSP violations the page reported so far.
 *
 * @param page - the page
 */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => [...((globalThis as { normkitCspViolations?: string[] }).normkitCspViolations ?? [])]);
}
