import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { vectorsDir } from '@normkit/conformance';
import { build } from 'esbuild';
import type { BuildOptions, Metafile } from 'esbuild';
import { pagesDir, repoRoot } from './paths.js';

/** The options every page is bundled with: ES modules for browsers, as a site would build them. */
export const PAGE_BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  logLevel: 'silent',
  legalComments: 'none',
  // Paths in the metafile relative to the repository: packages/core/dist/index.js, node_modules/….
  absWorkingDir: repoRoot,
};

/** What {@link bundleModule} produced. */
export interface Bundle {
  /** The bundled JavaScript. */
  readonly code: string;
  /** esbuild's record of the inputs (which modules made it in, and how many bytes each). */
  readonly metafile: Metafile;
}

/**
 * Bundles one module (a file, or source text resolved from `resolveDir`) for the browser.
 *
 * @param entry - `{ file }` or `{ contents, resolveDir }`
 * @param options - `minify`, export `conditions` (e.g. `normkit-no-wasm`)
 * @returns the code and the metafile
 * @throws the esbuild error when a module cannot be bundled for the browser (a Node built-in import among them)
 */
export async function bundleModule(
  entry: { readonly file: string } | { readonly contents: string; readonly resolveDir: string },
  options: { readonly minify?: boolean; readonly conditions?: readonly string[] } = {},
): Promise<Bundle> {
  const result = await build({
    ...PAGE_BUILD_OPTIONS,
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: entry.resolveDir, loader: 'ts', sourcefile: 'entry.ts' } }),
    write: false,
    metafile: true,
    minify: options.minify === true,
    ...(options.conditions !== undefined ? { conditions: [...options.conditions] } : {}),
  });
  const code = result.outputFiles?.[0]?.text ?? '';
  return { code, metafile: result.metafile as Metafile };
}

/** The vector files shipped with `@normkit/conformance`, sorted. */
export function vectorFiles(): string[] {
  return readdirSync(vectorsDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/**
 * The conformance page's script: every vector file inlined by esbuild's JSON loader, handed
 * to {@link runConformancePage}.
 *
 * @returns the bundle
 */
export async function bundleConformancePage(): Promise<Bundle> {
  const files = vectorFiles();
  const imports = files.map((f, i) => `import v${i} from ${JSON.stringify(join(vectorsDir, f))};`).join('\n');
  const list = files.map((f, i) => `{ name: ${JSON.stringify(f)}, json: v${i} }`).join(',\n  ');
  const contents = `${imports}\nimport { runConformancePage } from './conformance-page.ts';\nvoid runConformancePage([\n  ${list}\n]);\n`;
  return bundleModule({ contents, resolveDir: pagesDir });
}
