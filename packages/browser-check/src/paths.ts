import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is `packages/browser-check/{src,dist}/paths.*`). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** This package's folder. */
export const packageDir: string = join(repoRoot, 'packages', 'browser-check');

/** The source of the docs' live page: `docs/live/`. */
export const liveSourceDir: string = join(repoRoot, 'docs', 'live');

/** The page sources of this package (`src/pages/`, read by esbuild as TypeScript). */
export const pagesDir: string = join(packageDir, 'src', 'pages');

/** Where the tests write their bundles and screenshots (ignored by git). */
export const outputDir: string = join(packageDir, '.pages');
