// @ts-check
/**
 * A local TypeDoc plugin: the live page. After TypeDoc has written the site, it bundles
 * `docs/live/` (normkit itself, with esbuild) into `docs/api/live/`, and points links written
 * `live:PAGE` — in the guides, and in `navigationLinks` of typedoc.json — at that folder,
 * relative to each page (TypeDoc leaves links with a scheme alone, and would otherwise warn
 * about a file that does not exist yet).
 *
 * Needs `packages/browser-check` built: `npm run docs` builds every package first.
 *
 * Loaded from typedoc.json: `"plugin": ["./docs/typedoc-live-page.mjs"]`.
 */
import { join } from 'node:path';
import { PageEvent } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.on(PageEvent.END, (page) => {
    if (page.contents === undefined) return;
    const depth = page.url.split('/').length - 1;
    page.contents = page.contents.replaceAll('href="live:', `href="${'../'.repeat(depth)}live/`);
  });
  app.renderer.postRenderAsyncJobs.push(async (event) => {
    const { writeLivePage } = await import('../packages/browser-check/dist/live-page.js');
    const written = await writeLivePage(join(event.outputDirectory, 'live'));
    app.logger.info(`live page: ${written.length} files in ${join(event.outputDirectory, 'live')}`);
  });
}
