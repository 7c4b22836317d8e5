// @ts-check
/**
 * A local TypeDoc plugin: search ranking. Every normalizer declares a `NormalizerTypes` bag
 * (`BatchNormTypes`, …) whose members `Name`, `InputOptions`, `Options`, `Params`, `State`
 * and `Saved` describe its types to the compiler. Ten packages × six members would fill the
 * first results for words such as "save", "state" or "options", whose useful answers are
 * `stateDict`, the getting-started guide or an options interface. This plugin ranks those
 * members last (they stay searchable). The same holds for the plumbing of forward's `saved`
 * value (`BatchNormSaved`, `ForwardResult.saved`, `checkNormSaved`, …): someone searching
 * "save" wants to save a model (`stateDict`, the guides), so those rank below the rest too.
 * Guides get a boost of their own in typedoc.json (`searchGroupBoosts`).
 *
 * Loaded from typedoc.json: `"plugin": ["./docs/typedoc-search.mjs"]`.
 */
import { ReflectionKind, RendererEvent } from 'typedoc';

const TYPE_BAG_MEMBERS = new Set(['Name', 'InputOptions', 'Options', 'Params', 'State', 'Saved']);

/** @param {import('typedoc').Reflection} reflection */
function isTypeBag(reflection) {
  if (!reflection.kindOf(ReflectionKind.Interface)) return false;
  const members = /** @type {import('typedoc').DeclarationReflection} */ (reflection).children ?? [];
  return ['Params', 'State', 'Saved'].every((name) => members.some((m) => m.name === name));
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.on(RendererEvent.BEGIN, (event) => {
    for (const reflection of Object.values(event.project.reflections)) {
      const parent = reflection.parent;
      if (parent !== undefined && TYPE_BAG_MEMBERS.has(reflection.name) && isTypeBag(parent)) reflection.relevanceBoost = 0.01;
      else if (/saved$/i.test(reflection.name)) reflection.relevanceBoost = 0.1;
    }
  });
}
