// @ts-check
/**
 * A local TypeDoc plugin: a README starts with its title (`# normkit`, `# @normkit/core`),
 * which GitHub and npm show as the page's heading. TypeDoc already titles the page with the
 * project's or the package's name, so the site would show the title twice. This plugin drops
 * a README's first line when it is a level-1 heading equal to that name.
 *
 * Loaded from typedoc.json: `"plugin": ["./docs/typedoc-readme-title.mjs"]`.
 */
import { Converter, RendererEvent } from 'typedoc';

/**
 * @param {import('typedoc').CommentDisplayPart[] | undefined} readme
 * @param {string} name
 */
function dropTitle(readme, name) {
  const first = readme?.[0];
  if (first === undefined || first.kind !== 'text') return;
  const match = /^# (.+)\r?\n+/.exec(first.text);
  if (match !== null && match[1].trim() === name) first.text = first.text.slice(match[0].length);
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const project = context.project;
    dropTitle(project.readme, project.name);
    for (const child of project.children ?? []) dropTitle(child.readme, child.name);
  });
  // With entryPointStrategy "packages" the home page's README joins the merged project later.
  app.renderer.on(RendererEvent.BEGIN, (event) => dropTitle(event.project.readme, event.project.name));
}
