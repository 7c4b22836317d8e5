import { gzipSync } from 'node:zlib';
import { bundleModule } from './bundle.js';
import type { Bundle } from './bundle.js';
import { pagesDir } from './paths.js';

/**
 * The page measured: batch norm only — a layer, forward in train mode, backward, eval —
 * the way a site would use it. Every published normalizer imports `@normkit/wasm/auto`; the
 * `normkit-no-wasm` export condition swaps it for a module that installs nothing.
 */
export const BATCH_NORM_PAGE = `
import { BatchNorm, fromArray } from '@normkit/batch-norm';
const bn = new BatchNorm({ numFeatures: 3 });
const x = fromArray(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [4, 3, 2]);
const y = bn.forward(x);
const dx = bn.backward(y);
bn.eval();
document.body.textContent = String(y.get(0, 0, 0) + dx.get(0, 0, 0) + bn.forward(x).get(1, 1, 1));
`;

/** The export condition that keeps the WebAssembly kernels out of a bundle. */
export const NO_WASM_CONDITION = 'normkit-no-wasm';

/** One measured bundle. */
export interface BundleSize {
  /** What was bundled. */
  readonly name: string;
  /** Minified bytes. */
  readonly minified: number;
  /** Minified, then gzipped (level 9) bytes. */
  readonly gzipped: number;
  /** The bundle itself. */
  readonly bundle: Bundle;
}

/**
 * Bundles a page with esbuild (minified, ES modules for browsers) and measures it.
 *
 * @param name - a label
 * @param contents - the page's module source
 * @param conditions - extra export conditions
 */
export async function measurePage(name: string, contents: string, conditions: readonly string[] = []): Promise<BundleSize> {
  const bundle = await bundleModule({ contents, resolveDir: pagesDir }, { minify: true, conditions });
  const bytes = Buffer.from(bundle.code, 'utf8');
  return { name, minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length, bundle };
}

/**
 * The two numbers of the README: a page using only batch norm, with the zero-config wasm
 * backend and without it.
 *
 * @returns with wasm, then without
 */
export async function batchNormPageSizes(): Promise<[BundleSize, BundleSize]> {
  return Promise.all([
    measurePage('batch norm, with wasm (default)', BATCH_NORM_PAGE),
    measurePage(`batch norm, without wasm (condition ${NO_WASM_CONDITION})`, BATCH_NORM_PAGE, [NO_WASM_CONDITION]),
  ]);
}

/** Start and end markers of the generated table in README.md. */
export const README_MARKERS = ['<!-- bundle-size:start -->', '<!-- bundle-size:end -->'] as const;

/** Bytes as kB (1000 bytes) with one decimal. */
export function kilobytes(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/**
 * The README's table of bundle sizes.
 *
 * @param sizes - the measured bundles
 * @param esbuildVersion - the bundler's version, for the record
 */
export function sizeTable(sizes: readonly BundleSize[], esbuildVersion: string): string {
  const rows = sizes.map((s) => `| ${s.name} | ${kilobytes(s.minified)} | **${kilobytes(s.gzipped)}** |`);
  return [
    README_MARKERS[0],
    '| page using only `@normkit/batch-norm` | minified | minified + gzip |',
    '| --- | --- | --- |',
    ...rows,
    '',
    `Measured by \`npm run size -w @normkit/browser-check\` (esbuild ${esbuildVersion}, \`--bundle --minify --format=esm --platform=browser\`, gzip level 9); a test fails when these numbers drift more than 10 % from the measured ones.`,
    README_MARKERS[1],
  ].join('\n');
}

/**
 * The sizes written in a README's table, in bytes (from its kB figures), in table order.
 *
 * @param readme - the README's text
 * @returns minified and gzipped bytes per row, or `null` when the markers are missing
 */
export function readmeSizes(readme: string): { minified: number; gzipped: number }[] | null {
  const start = readme.indexOf(README_MARKERS[0]);
  const end = readme.indexOf(README_MARKERS[1]);
  if (start < 0 || end < start) return null;
  const rows: { minified: number; gzipped: number }[] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    const m = /\|\s*([\d.]+) kB\s*\|\s*\**([\d.]+) kB\**\s*\|$/.exec(line.trim());
    if (m !== null) rows.push({ minified: Number(m[1]) * 1000, gzipped: Number(m[2]) * 1000 });
  }
  return rows;
}
