/**
 * What a site's bundler makes of normkit: every published package's main entry bundles for
 * the browser (no Node built-in, no code generated at run time), a page using only batch norm
 * carries no other normalizer, and the README's bundle sizes are the measured ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleModule } from './bundle.js';
import type { Bundle } from './bundle.js';
import { batchNormPageSizes, readmeSizes } from './bundle-size.js';
import { pagesDir, repoRoot } from './paths.js';

/** The published packages whose main entry must bundle for a web page (the CLI is a Node command). */
const WEB_PACKAGES = [
  'core',
  'batch-norm',
  'batch-renorm',
  'ghost-batch-norm',
  'group-norm',
  'instance-norm',
  'layer-norm',
  'rms-norm',
  'sync-batch-norm',
  'weight-norm',
  'wasm',
  'gradcheck',
  'conformance',
  'io',
  'onnx',
];

/**
 * Calls that compile a string into code: what a policy without `'unsafe-eval'` refuses.
 * (`eval()` with no argument is a layer's method, `layer.eval()`, not the global.)
 */
const CODE_GENERATION = /\bnew Function\b|(?<![\w.$])Function\(|(?<![\w.$])eval\((?!\))/;

/** The input files that put bytes into a bundle (after tree shaking), relative to the repository. */
function inputs(bundle: Bundle): string[] {
  return Object.values(bundle.metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([file]) => file));
}

describe('bundling normkit for a web page', () => {
  it.each(WEB_PACKAGES)('@normkit/%s: the main entry bundles for the browser, with no Node built-in and no code generation', async (name) => {
    const bundle = await bundleModule({ contents: `export * from '@normkit/${name}';`, resolveDir: pagesDir });
    const files = Object.keys(bundle.metafile.inputs);
    expect(files.some((f) => f.includes(`packages/${name}/dist/index.js`))).toBe(true);
    expect(files.filter((f) => f.startsWith('node:') || f.includes('node_modules/ndarray'))).toEqual([]);
    expect(CODE_GENERATION.exec(bundle.code)?.[0] ?? null).toBeNull();
  });

  it('detects code generation where it is: the ndarray package builds its classes with new Function', async () => {
    const bundle = await bundleModule({ contents: "import ndarray from 'ndarray'; export const view = ndarray(new Float32Array(4));", resolveDir: pagesDir });
    expect(CODE_GENERATION.exec(bundle.code)?.[0]).toBe('new Function');
  });

  it('a page using only batch norm carries no other normalizer; without wasm it carries no kernels', async () => {
    const [withWasm, withoutWasm] = await batchNormPageSizes();
    const others = ['layer-norm', 'group-norm', 'instance-norm', 'rms-norm', 'weight-norm', 'batch-renorm', 'ghost-batch-norm', 'sync-batch-norm', 'conformance', 'gradcheck'];
    for (const s of [withWasm, withoutWasm]) {
      const files = inputs(s.bundle);
      expect(files.filter((f) => others.some((o) => f.includes(`packages/${o}/`)))).toEqual([]);
      expect(files.some((f) => f.includes('packages/batch-norm/dist/'))).toBe(true);
      expect(CODE_GENERATION.exec(s.bundle.code)?.[0] ?? null).toBeNull();
    }
    expect(inputs(withWasm.bundle).some((f) => f.endsWith('wasm/dist/generated/kernel-bytes.js'))).toBe(true);
    expect(inputs(withoutWasm.bundle).filter((f) => f.includes('packages/wasm/') && !f.endsWith('wasm/dist/auto-off.js'))).toEqual([]);
    expect(withoutWasm.minified).toBeLessThan(withWasm.minified);
  });

  it("the README's bundle sizes are within 10 % of the measured ones", async () => {
    const measured = await batchNormPageSizes();
    const written = readmeSizes(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    expect(written, 'README.md has no bundle-size table: run npm run size -w @normkit/browser-check -- --write').not.toBeNull();
    expect(written).toHaveLength(2);
    measured.forEach((m, i) => {
      const row = written?.[i] ?? { minified: 0, gzipped: 0 };
      const hint = `${m.name}: README ${row.minified} / ${row.gzipped}, measured ${m.minified} / ${m.gzipped} bytes; update with npm run size -w @normkit/browser-check -- --write`;
      expect(Math.abs(row.minified - m.minified) / m.minified, hint).toBeLessThanOrEqual(0.1);
      expect(Math.abs(row.gzipped - m.gzipped) / m.gzipped, hint).toBeLessThanOrEqual(0.1);
    });
  });
});
