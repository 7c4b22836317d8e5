// @ts-check
/**
 * A local TypeDoc plugin: the normalizer packages re-export a few helpers of `@normkit/core`
 * (`tensor`, `formatTensor`, `NormkitError`, …) so that one installed package is enough for a
 * program. TypeDoc would document each re-export again on every package page (and list it in
 * search once per package); this plugin leaves them documented once, in `@normkit/core`, and
 * drops the copies from the other packages' pages. Each package's README says what it
 * re-exports.
 *
 * Loaded from typedoc.json: `"plugin": ["./docs/typedoc-core-reexports.mjs"]`.
 */
import { Converter } from 'typedoc';

const CORE = '@normkit/core';
const CORE_SOURCES = /[\\/]packages[\\/]core[\\/]/;

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const project = context.project;
    if (project.name === CORE || project.packageName === CORE) return;
    for (const child of [...(project.children ?? [])]) {
      const symbol = context.getSymbolFromReflection(child);
      const declarations = symbol?.declarations ?? [];
      if (declarations.length > 0 && declarations.every((d) => CORE_SOURCES.test(d.getSourceFile().fileName))) {
        project.removeReflection(child);
      }
    }
  });
}
