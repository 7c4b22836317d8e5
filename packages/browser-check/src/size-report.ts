/**
 * `npm run size -w @normkit/browser-check [-- --write]`: bundles a page using only batch norm
 * with esbuild, with and without the WebAssembly kernels, prints the minified and gzipped
 * sizes, and with `--write` puts the table into the repository's README.md (between the
 * `bundle-size` markers).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { version } from 'esbuild';
import { README_MARKERS, batchNormPageSizes, kilobytes, sizeTable } from './bundle-size.js';
import { repoRoot } from './paths.js';

const sizes = await batchNormPageSizes();
for (const s of sizes) console.log(`${s.name}: ${s.minified} B minified (${kilobytes(s.minified)}), ${s.gzipped} B gzipped (${kilobytes(s.gzipped)})`);
if (process.argv.includes('--write')) {
  const file = join(repoRoot, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const start = readme.indexOf(README_MARKERS[0]);
  const end = readme.indexOf(README_MARKERS[1]);
  if (start < 0 || end < start) {
    console.error(`README.md has no ${README_MARKERS[0]} … ${README_MARKERS[1]} block to write into`);
    process.exitCode = 1;
  } else {
    writeFileSync(file, readme.slice(0, start) + sizeTable(sizes, version) + readme.slice(end + README_MARKERS[1].length));
    console.log(`wrote the table into ${file}`);
  }
}
