/**
 * The documentation site's browser test (`npm run test:docs`, after `npm run docs`).
 *
 * Serves docs/api on 127.0.0.1, opens it in headless Chromium from the system
 * (`/usr/bin/chromium`, or `$CHROMIUM_PATH`; playwright-core downloads nothing), and checks
 * that the home page, every package page and every guide load without console errors,
 * failed requests or requests off the machine; that search finds `BatchNorm`, words of the
 * comments and of the guides (a word found only in a guide among them); and that math renders
 * as math (KaTeX HTML, its CSS and fonts loaded, no raw LaTeX left); and that the live page
 * (`live/`) is linked from the header and the browser guide and computes its first view.
 * Screenshots go to docs/api/screenshots/. Exit code 0 when everything passes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { guidesDir, siteDir } from './paths.js';
import { serveStatic } from './static-server.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshotDir = join(siteDir, 'screenshots');

interface Result {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const results: Result[] = [];
function record(name: string, ok: boolean, detail = ''): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `  (${detail})` : ''}`);
}

/** Problems seen while a page was open. */
interface Watch {
  readonly errors: string[];
}

function watch(page: Page, base: string): Watch {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (!r.url().startsWith(base)) return; // off-machine requests are aborted below and reported there
    // A navigation cancels the previous page's pending requests (net::ERR_ABORTED): not an error.
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
    errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { errors };
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'load' });
  // TypeDoc hides the body until its script has laid the page out.
  await page.waitForFunction(() => document.body.style.display !== 'none', undefined, { timeout: 10_000 });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
}

/** What the math on the current page looks like. */
async function mathReport(page: Page) {
  return page.evaluate(() => {
    const content = document.querySelector('.col-content') ?? document.body;
    const katex = content.querySelectorAll('.katex').length;
    const display = content.querySelectorAll('.katex-display').length;
    const errors = content.querySelectorAll('.katex-error').length;
    const mathml = content.querySelector('.katex-mathml');
    const mathmlHidden = mathml === null ? null : getComputedStyle(mathml).position === 'absolute';
    const html = content.querySelector('.katex-html');
    const htmlVisible = html === null ? null : (html as HTMLElement).getBoundingClientRect().width > 0;
    const mainFont = getComputedStyle(content.querySelector('.katex') ?? content).fontFamily;
    const fontsLoaded = [...document.fonts].filter((f) => f.family.replace(/"/g, '').startsWith('KaTeX') && f.status === 'loaded').map((f) => f.family.replace(/"/g, ''));
    // Raw LaTeX anywhere outside rendered math and code?
    const clone = content.cloneNode(true) as HTMLElement;
    clone.querySelectorAll('.katex, pre, code').forEach((n) => n.remove());
    const raw = /\\(frac|sum|hat|partial|mathrm|sqrt|begin|langle)\b|\$\$/.exec(clone.textContent ?? '')?.[0] ?? null;
    const images = [...content.querySelectorAll('img')].map((i) => ({ src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 }));
    const tallest = Math.max(0, ...[...content.querySelectorAll('.katex-display')].map((d) => d.getBoundingClientRect().height));
    return { katex, display, errors, mathmlHidden, htmlVisible, mainFont, fontsLoaded: [...new Set(fontsLoaded)], raw, images, tallest };
  });
}

/** Searches the site and what each must find, with why a reader would search for it. */
const SEARCHES: readonly { term: string; expected: string; why: string }[] = [
  { term: 'math', expected: 'The math', why: 'a guide by its title' },
  { term: 'unbiased', expected: 'runningVar', why: 'a word of the comments only' },
  { term: 'E_SHAPE', expected: 'assertSameShape', why: 'an error code, in the comments' },
  { term: 'E_SHAPE', expected: 'Getting started', why: 'an error code, in a guide' },
  { term: 'channelsLast', expected: 'channelAxis', why: "another library's name for an option" },
  { term: 'rms', expected: 'RMSNorm', why: 'part of a name' },
  { term: 'save', expected: 'Getting started', why: 'saving a model: the guide that does it' },
];

/** A word that occurs in the guides and in no API comment or README (checked below). */
const GUIDE_ONLY_WORD = 'Santurkar';

/** A search result. */
interface Hit {
  readonly text: string;
  readonly href: string;
}

/** Types `term` into the search box of the home page; the results shown (at most 10). */
async function search(page: Page, base: string, term: string): Promise<Hit[]> {
  await open(page, base + 'index.html');
  await page.locator('#tsd-search-trigger').click();
  await page.locator('#tsd-search-input').fill(term);
  const appeared = await page
    .locator('#tsd-search-results li a')
    .first()
    .waitFor({ state: 'visible', timeout: 10_000 })
    .then(() => true, () => false);
  if (!appeared) return [];
  return page.locator('#tsd-search-results li a').evaluateAll((links) =>
    links.map((a) => ({ text: (a.textContent ?? '').replace(/\s+/g, ' ').trim(), href: a.getAttribute('href') ?? '' })),
  );
}

/** Every HTML page of the site that is not a guide: the home page, packages and reflections. */
function apiPages(dir: string): string[] {
  const pages: string[] = [join(dir, 'index.html')];
  for (const folder of readdirSync(dir, { withFileTypes: true })) {
    if (!folder.isDirectory() || folder.name === 'documents' || folder.name === 'assets' || folder.name === 'media' || folder.name === 'screenshots' || folder.name === 'live') continue;
    for (const f of readdirSync(join(dir, folder.name))) if (f.endsWith('.html')) pages.push(join(dir, folder.name, f));
  }
  return pages;
}

async function main(): Promise<number> {
  if (!existsSync(join(siteDir, 'index.html'))) {
    console.error(`no site at ${siteDir}: run \`npm run docs\` first`);
    return 2;
  }
  if (!existsSync(executablePath)) {
    console.error(`no Chromium at ${executablePath}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`);
    return 2;
  }
  mkdirSync(screenshotDir, { recursive: true });
  const server = await serveStatic(siteDir);
  let browser: Browser | undefined;
  const offMachine: string[] = [];
  try {
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Nothing may leave the machine: abort and report any request not to our server.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      offMachine.push(url);
      return route.abort('blockedbyclient');
    });

    const pages: { name: string; path: string }[] = [{ name: 'home', path: 'index.html' }];
    for (const f of readdirSync(join(siteDir, 'modules')).filter((f) => f.endsWith('.html')).sort()) {
      pages.push({ name: `package ${f.replace(/\.html$/, '').replace(/^_normkit_/, '@normkit/')}`, path: `modules/${f}` });
    }
    const documents = readdirSync(join(siteDir, 'documents')).filter((f) => f.endsWith('.html')).sort();
    for (const f of documents) pages.push({ name: `guide ${f.replace(/\.html$/, '')}`, path: `documents/${f}` });
    pages.push({ name: 'class BatchNorm', path: 'classes/_normkit_batch-norm.BatchNorm.html' });

    const page = await context.newPage();
    const seen = watch(page, server.url);
    for (const { name, path } of pages) {
      seen.errors.length = 0;
      try {
        await open(page, server.url + path);
        const h1 = (await page.locator('h1').first().textContent())?.trim() ?? '';
        const math = await mathReport(page);
        const problems = [...seen.errors];
        if (h1 === '') problems.push('no h1');
        if (math.errors > 0) problems.push(`${math.errors} KaTeX errors`);
        if (math.raw !== null) problems.push(`raw LaTeX in the text: ${math.raw}`);
        for (const img of math.images) if (!img.ok) problems.push(`image not loaded: ${img.src}`);
        if (math.katex > 0) {
          if (math.mathmlHidden !== true) problems.push('KaTeX CSS not applied (MathML copy visible)');
          if (math.htmlVisible !== true) problems.push('KaTeX HTML not laid out');
          if (!math.fontsLoaded.includes('KaTeX_Main')) problems.push(`KaTeX fonts not loaded (${math.fontsLoaded.join(', ') || 'none'})`);
        }
        record(`${name} loads: "${h1}"`, problems.length === 0, [math.katex > 0 ? `${math.katex} formulas` : '', ...problems].filter(Boolean).join('; '));
      } catch (e) {
        record(`${name} loads`, false, (e as Error).message.split('\n')[0]);
      }
    }

    // The live page (docs/live/, bundled into the site by docs/typedoc-live-page.mjs): the
    // header's "Live demo" link leads there from the home page, the browser guide links to it
    // from one folder down, and it computes and draws its first view without errors.
    seen.errors.length = 0;
    await open(page, server.url + 'index.html');
    await page.locator('#tsd-toolbar-links a', { hasText: 'Live demo' }).click();
    await page.waitForLoadState('load');
    const liveUrl = page.url();
    const rendered = await page
      .waitForSelector('body[data-renders="1"]', { state: 'attached', timeout: 30_000 })
      .then(() => true, () => false);
    const liveRows = await page.locator('#channel-stats tbody tr').count();
    const liveBars = await page.locator('.chart rect').count();
    await page.screenshot({ path: join(screenshotDir, 'live.png'), fullPage: true });
    await open(page, server.url + 'documents/In_the_browser.html');
    const guideLink = await page.locator('.col-content a', { hasText: 'live page' }).first().evaluate((a) => (a as HTMLAnchorElement).href);
    record(
      'live page: linked from the header and the browser guide, computes and draws in the page',
      liveUrl === server.url + 'live/index.html' && guideLink === server.url + 'live/index.html' && rendered && liveRows === 4 && liveBars === 96 && seen.errors.length === 0,
      `header → ${liveUrl}; guide → ${guideLink}; rendered ${rendered}, ${liveRows} channel rows, ${liveBars} bars${seen.errors.length ? `; ${seen.errors.join('; ')}` : ''}`,
    );

    // Screenshots: the home page, a package page, the math guide (whole page).
    await open(page, server.url + 'index.html');
    await page.screenshot({ path: join(screenshotDir, 'home.png') });
    await open(page, server.url + 'modules/_normkit_batch-norm.html');
    await page.screenshot({ path: join(screenshotDir, 'package-batch-norm.png') });

    // Math renders as math on the math guide.
    await open(page, server.url + 'documents/The_math.html');
    const math = await mathReport(page);
    record(
      'math guide: formulas render as KaTeX with its CSS and fonts',
      math.katex >= 40 && math.display >= 10 && math.errors === 0 && math.raw === null && math.mathmlHidden === true && math.fontsLoaded.includes('KaTeX_Main') && math.tallest > 30,
      `${math.katex} formulas, ${math.display} displayed, tallest ${Math.round(math.tallest)} px, fonts ${math.fontsLoaded.length}, font-family ${math.mainFont.split(',')[0]}`,
    );
    record('math guide: the computation graph image loads', math.images.length > 0 && math.images.every((i) => i.ok), math.images.map((i) => i.src).join(', '));
    await page.screenshot({ path: join(screenshotDir, 'math-guide.png'), fullPage: true });
    const boxed = page.locator('.katex-display').filter({ has: page.locator('.boxpad, .fbox, .stretchy') }).first();
    if ((await boxed.count()) > 0) {
      await boxed.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(screenshotDir, 'math-guide-backward.png') });
    }

    // Search finds BatchNorm, and the result leads to its page.
    seen.errors.length = 0;
    await open(page, server.url + 'index.html');
    await page.locator('#tsd-search-trigger').click();
    await page.locator('#tsd-search-input').fill('BatchNorm');
    const hit = page.locator('#tsd-search-results li a', { hasText: 'BatchNorm' }).first();
    await hit.waitFor({ state: 'visible', timeout: 10_000 });
    const hits = await page.locator('#tsd-search-results li').allTextContents();
    await page.screenshot({ path: join(screenshotDir, 'search-batchnorm.png') });
    const href = await hit.getAttribute('href');
    await hit.click();
    await page.waitForLoadState('load');
    const landed = (await page.locator('h1').first().textContent())?.trim() ?? '';
    record(
      'search finds BatchNorm',
      hits.some((t) => t.includes('BatchNorm')) && /BatchNorm/.test(landed) && seen.errors.length === 0,
      `${hits.length} results, first: ${hits.slice(0, 3).map((t) => t.trim()).join(' | ')}; clicked ${href} → "${landed}"${seen.errors.length ? `; ${seen.errors.join('; ')}` : ''}`,
    );
    // Search covers names, comments and the guides (typedoc.json: searchInComments,
    // searchInDocuments). Each word must find the result a reader is after.
    for (const { term, expected, why } of SEARCHES) {
      const hits = await search(page, server.url, term);
      const found = hits.some((h) => h.text.includes(expected));
      record(`search "${term}" finds ${expected} (${why})`, found, `${hits.length} results: ${hits.slice(0, 4).map((h) => h.text).join(' | ')}`);
    }

    // A word that occurs only in a guide: in its Markdown, on no API page; search finds the guide.
    const guideWord = GUIDE_ONLY_WORD;
    const inGuides = readdirSync(guidesDir).filter((f) => f.endsWith('.md') && readFileSync(join(guidesDir, f), 'utf8').includes(guideWord));
    const onApiPages = apiPages(siteDir).filter((f) => readFileSync(f, 'utf8').includes(guideWord));
    const guideHits = await search(page, server.url, guideWord);
    const first = guideHits[0];
    let guideLanded = '';
    if (first !== undefined) {
      await page.locator('#tsd-search-results li a').first().click();
      await page.waitForLoadState('load');
      guideLanded = (await page.locator('h1').first().textContent())?.trim() ?? '';
    }
    const bodyHasWord = first !== undefined && ((await page.locator('.col-content').textContent()) ?? '').includes(guideWord);
    record(
      `search finds a word that occurs only in a guide ("${guideWord}")`,
      inGuides.length > 0 && onApiPages.length === 0 && first !== undefined && first.href.includes('documents/') && bodyHasWord,
      `in ${inGuides.join(', ') || 'no guide'}; on ${onApiPages.length} API pages; results: ${guideHits.map((h) => h.text).join(' | ') || 'none'}; first → "${guideLanded}"`,
    );
    await page.screenshot({ path: join(screenshotDir, 'search-guide-word.png') });

    record('no request left the machine', offMachine.length === 0, offMachine.slice(0, 5).join(', '));
    record('no missing files on the server', server.missing.length === 0, server.missing.slice(0, 5).join(', '));
  } finally {
    await browser?.close();
    await server.close();
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\n${results.length - failed} passed, ${failed} failed. Screenshots: ${screenshotDir}`);
  for (const f of readdirSync(screenshotDir).sort()) console.log(`  ${join(screenshotDir, f)}`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
