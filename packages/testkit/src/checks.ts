import { readFileSync } from 'node:fs';
import { NormkitError } from '@normkit/core';
import type { Normalizer } from '@normkit/core';
import { assertGradients, assertSecondOrder, checkGradients, checkSecondOrder } from '@normkit/gradcheck';

/**
 * The `code` of the `NormkitError` that `fn` throws; `undefined` when it returns, and a
 * description when it throws anything else (so a test comparing codes shows what came).
 */
export function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof NormkitError ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

/**
 * The `NormkitError` that `fn` throws, as its code and message, for tests that check both.
 *
 * @param fn - the call expected to throw
 * @returns the error's `code` and `message`
 * @throws Error when `fn` returns, or throws anything that is not a `NormkitError` (rethrown)
 */
export function thrownError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a NormkitError, nothing was thrown');
}

/**
 * The plugins exported by a package module (values with a `meta`), and the version in its
 * `package.json`, for the test that every plugin reports the package's version.
 */
export function pluginVersions(api: Record<string, unknown>, packageJsonUrl: URL): { version: string; reported: string[] } {
  const { version } = JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version: string };
  const reported = Object.values(api)
    .filter((v): v is { meta: { version: string } } => typeof v === 'object' && v !== null && 'meta' in v)
    .map((plugin) => plugin.meta.version);
  return { version, reported };
}

/**
 * Runs `@normkit/gradcheck` on a plugin over seeds `0 … seeds−1` with its defaults
 * (rtol 1e-5, atol 1e-6·scale), throwing the formatted report on the first failure, and
 * once with Richardson extrapolation at rtol 1e-8 / atol 1e-9.
 *
 * @returns the ids of the checks that failed the Richardson run (expected: none)
 */
export function gradcheckAcrossSeeds(plugin: Normalizer, seeds: number): string[] {
  for (let seed = 0; seed < seeds; seed++) assertGradients(plugin, { seed });
  const tight = checkGradients(plugin, { seed: 42, richardson: true, rtol: 1e-8, atol: 1e-9 });
  return tight.checks.filter((c) => !c.ok).map((c) => c.id);
}

/**
 * The order-2 sibling of {@link gradcheckAcrossSeeds}: runs `@normkit/gradcheck`'s
 * `checkSecondOrder` (the plugin's `doubleBackward` against finite differences of its
 * `backward`) over seeds `0 … seeds−1` at its defaults (rtol 1e-5, atol 1e-6·scale), throwing
 * the formatted report on the first failure or when the plugin has no `doubleBackward`, then
 * once with Richardson extrapolation at rtol 1e-8 / atol 1e-9.
 *
 * @returns the ids of the checks that failed the Richardson run (expected: none)
 */
export function secondOrderAcrossSeeds(plugin: Normalizer, seeds: number): string[] {
  for (let seed = 0; seed < seeds; seed++) assertSecondOrder(plugin, { seed });
  const tight = checkSecondOrder(plugin, { seed: 42, richardson: true, rtol: 1e-8, atol: 1e-9 });
  return tight.checks.filter((c) => !c.ok).map((c) => c.id);
}
