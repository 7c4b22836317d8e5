import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertNormalizer, isNormkitError } from '@normkit/core';
import type { Normalizer } from '@normkit/core';
import { UsageError } from './args.js';

/** Does this argument name a file rather than a built-in plugin? */
export function looksLikePath(arg: string): boolean {
  return arg.includes('/') || arg.includes('\\') || /\.(m?js|cjs)$/.test(arg);
}

/**
 * Loads a user's plugin from an ES module: its default export, or an export named `plugin`,
 * checked with core's `assertNormalizer`. The plugin must be made with `defineNormalizer`
 * (it has `create(options)`, which binds its methods to resolved options): a plugin object
 * of the old contract, or a definition not passed to `defineNormalizer`, is refused.
 *
 * @param path - the module's file path, relative to the working directory or absolute
 * @returns the plugin
 * @throws UsageError (the CLI's own error, which `main` turns into exit code 2) when the file
 *   is missing, cannot be imported, or exports no normalizer (the message then carries the
 *   `E_PLUGIN` reason)
 */
export async function loadPluginModule(path: string): Promise<Normalizer> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UsageError(`cannot read ${path}: no such file`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`cannot import ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const candidate = module.default ?? module.plugin;
  if (candidate === undefined) throw new UsageError(`${path} exports no plugin (expected a default export or an export named "plugin")`);
  try {
    return assertNormalizer(candidate, path);
  } catch (e) {
    if (isNormkitError(e)) throw new UsageError(`${path} does not export a normalizer: ${e.message}`);
    throw e;
  }
}
