import { NormkitError, describeValue } from './errors.js';
import type { Normalizer } from './normalizer.js';

/**
 * Checks that a value looks like a {@link Normalizer} plugin (for plugins loaded at run time,
 * e.g. a user's module handed to the CLI): `meta`, `modes`, `exampleOptions`,
 * `resolveOptions` and `create`.
 *
 * @param value - the candidate
 * @param name - where it came from, for messages
 * @returns `value`, typed as a {@link Normalizer}
 * @throws NormkitError `E_PLUGIN` naming the first missing or malformed member
 */
export function assertNormalizer(value: unknown, name = 'plugin'): Normalizer {
  if (typeof value !== 'object' || value === null) {
    throw new NormkitError('E_PLUGIN', `${name}: expected a normalizer object, got ${describeValue(value)}`, name);
  }
  const v = value as Record<string, unknown>;
  const meta = v.meta as Record<string, unknown> | undefined;
  if (typeof meta !== 'object' || meta === null || typeof meta.name !== 'string' || meta.name.length === 0) {
    throw new NormkitError('E_PLUGIN', `${name}.meta.name: expected a non-empty string, got ${describeValue(meta?.name)}`, name);
  }
  for (const key of ['version', 'description', 'formula'] as const) {
    if (typeof meta[key] !== 'string') {
      throw new NormkitError('E_PLUGIN', `${name}.meta.${key}: expected a string, got ${describeValue(meta[key])}`, name);
    }
  }
  const modes = v.modes;
  if (!Array.isArray(modes) || modes.length === 0 || !modes.every((m) => m === 'train' || m === 'eval')) {
    throw new NormkitError('E_PLUGIN', `${name}.modes: expected a non-empty list of 'train' | 'eval', got ${describeValue(modes)}`, name);
  }
  if (!Array.isArray(v.exampleOptions) || v.exampleOptions.length === 0) {
    throw new NormkitError('E_PLUGIN', `${name}.exampleOptions: expected a non-empty list, got ${describeValue(v.exampleOptions)}`, name);
  }
  for (const method of ['resolveOptions', 'create'] as const) {
    if (typeof v[method] !== 'function') {
      const hint = method === 'create' && typeof v.bind === 'function' ? ' (a definition: wrap it with defineNormalizer)' : '';
      throw new NormkitError('E_PLUGIN', `${name}.${method}: expected a function, got ${describeValue(v[method])}${hint}`, name);
    }
  }
  return value as Normalizer;
}
