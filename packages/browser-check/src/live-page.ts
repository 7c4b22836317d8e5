import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleModule } from './bundle.js';
import { liveSourceDir } from './paths.js';

/**
 * The docs' live page (`docs/live/`) as files: `index.html`, `live.css`, `favicon.svg`, and `live.js`,
 * `live.ts` bundled (minified) with normkit inside.
 *
 * @returns file name → contents
 */
export async function livePageFiles(): Promise<Map<string, string>> {
  const { code } = await bundleModule({ file: join(liveSourceDir, 'live.ts') }, { minify: true });
  return new Map([
    ['index.html', readFileSync(join(liveSourceDir, 'index.html'), 'utf8')],
    ['live.css', readFileSync(join(liveSourceDir, 'live.css'), 'utf8')],
    ['favicon.svg', readFileSync(join(liveSourceDir, 'favicon.svg'), 'utf8')],
    ['live.js', code],
  ]);
}

/**
 * Writes the live page into a folder of the site (`npm run docs` puts it at `docs/api/live/`).
 *
 * @param dir - the folder, created when missing
 * @returns the files written
 */
export async function writeLivePage(dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, contents] of await livePageFiles()) {
    writeFileSync(join(dir, name), contents);
    written.push(join(dir, name));
  }
  return written;
}
