import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertNormalizer, isNormkitError } from '@normkit/core';
import type { Normalizer } from '@normkit/core';
import { UsageError } from './args.js';

/** Does this argument name a file rather than a built-in plugin? */
export function looksLikePath(arg: string): boolean {
  return arg.includes('/') || arg.includes('\\') || /\.(m?js|cjs|m?ts|cts)$/.test(arg);
}

/** A TypeScript source file, which Node imports only when it strips types (Node ≥ 22.18). */
function isTypeScript(path: string): boolean {
  return /\.(m?ts|cts)$/.test(path);
}

/** What to do with a TypeScript plugin that Node could not import. */
function typeScriptAdvice(path: string): string {
  const js = basename(path)
    .replace(/\.d\.([mc]?)ts$/, '.$1ts')
    .replace(/\.(m?)ts$/, '.$1js')
    .replace(/\.cts$/, '.cjs');
  return (
    `${path} is TypeScript, which Node ${process.version} does not run: compile it first (npx tsc) and check ` +
    `the compiled file, e.g. normkit gradcheck ./dist/${js} (your tsconfig's outDir), or use a Node that strips types (>= 22.18)`
  );
}

/**
 * Loads a user's plugin from an ES module: its default export, or an export named `plugin`,
 * checked with core's `assertNormalizer`. The plugin must be made with `defineNormalizer`
 * (it has `create(options)`, which binds its methods to resolved options): a plugin object
 * of the old contract, or a definition not passed to `defineNormalizer`, is refused.
 *
 * @param path - the module's file path, relative to the working directory or absolute
 * @returns the plugin
 * A `.ts` file is imported as it is, which works where Node strips types (Node ≥ 22.18);
 * elsewhere the message says to compile it first.
 *
 * @throws UsageError (the CLI's own error, which `main` turns into exit code 2) when the file
 *   is missing, cannot be imported (for TypeScript: what to do instead), or exports no
 *   normalizer (the message then carries the `E_PLUGIN` reason)
 */
export async function loadPluginModule(path: string): Promise<Normalizer> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UsageError(`cannot read ${path}: no such file`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    if (isTypeScript(path)) throw new UsageError(`${typeScriptAdvice(path)} (${reason})`);
    throw new UsageError(`cannot import ${path}: ${reason}`);
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
