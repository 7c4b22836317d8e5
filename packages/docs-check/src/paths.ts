import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is `packages/docs-check/{src,dist}/paths.*`). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** `docs/` in the repository. */
export const docsDir: string = join(repoRoot, 'docs');

/** The guides, rendered into the site as TypeDoc project documents. */
export const guidesDir: string = join(docsDir, 'guides');

/** Where `npm run docs` writes the site. */
export const siteDir: string = join(docsDir, 'api');
