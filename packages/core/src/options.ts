import { NormkitError, describeValue } from './errors.js';

/**
 * Reads user options as a plain object and rejects keys the plugin does not know
 * (a typo such as `momentun` should fail loudly, as Python keyword arguments do).
 *
 * @param input - what the user passed (`undefined` means `{}`)
 * @param known - the option names the plugin accepts
 * @param plugin - the plugin name, for messages
 * @returns the options as a record of own properties
 * @throws NormkitError `E_OPTION` for a non-object or an unknown key
 */
export function readOptions(input: unknown, known: readonly string[], plugin: string): Record<string, unknown> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new NormkitError('E_OPTION', `${plugin} options: expected an object of named options (${known.join(', ')}), got ${describeValue(input)}`, 'options');
  }
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      throw new NormkitError(
        'E_OPTION',
        `${plugin} options: unknown option ${JSON.stringify(key)}; expected one of ${known.join(', ')}`,
        `options.${key}`,
      );
    }
    const value: unknown = (input as Record<string, unknown>)[key];
    if (value !== undefined) record[key] = value;
  }
  return record;
}

/** Constraints for {@link numberOption}. */
export interface NumberConstraint {
  /** Smallest allowed value (inclusive). */
  readonly min?: number;
  /** Largest allowed value (inclusive). */
  readonly max?: number;
  /** Value must be strictly greater than this. */
  readonly greaterThan?: number;
  /** Value must be an integer. */
  readonly integer?: boolean;
}

function rangeText(c: NumberConstraint): string {
  const parts: string[] = [c.integer === true ? 'an integer' : 'a finite number'];
  if (c.greaterThan !== undefined) parts.push(`> ${c.greaterThan}`);
  if (c.min !== undefined && c.max !== undefined) parts.push(`in [${c.min}, ${c.max}]`);
  else if (c.min !== undefined) parts.push(`≥ ${c.min}`);
  else if (c.max !== undefined) parts.push(`≤ ${c.max}`);
  return parts.join(' ');
}

/**
 * A numeric option: the value given, or the default, checked against the constraint.
 *
 * @example
 * ```ts
 * const o = readOptions(input, ['eps'], 'my-norm');
 * const eps = numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, 'my-norm');
 * ```
 *
 * @param options - the record from {@link readOptions}
 * @param key - the option name
 * @param fallback - the default; `undefined` makes the option required
 * @param constraint - range and integrality
 * @param plugin - the plugin name, for messages
 * @returns the checked value
 * @throws NormkitError `E_OPTION` when missing, not a number, not finite or out of range
 */
export function numberOption(
  options: Record<string, unknown>,
  key: string,
  fallback: number | undefined,
  constraint: NumberConstraint,
  plugin: string,
): number {
  const value = key in options ? options[key] : fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (constraint.integer !== true || Number.isInteger(value)) &&
    (constraint.min === undefined || value >= constraint.min) &&
    (constraint.max === undefined || value <= constraint.max) &&
    (constraint.greaterThan === undefined || value > constraint.greaterThan);
  if (!ok) {
    throw new NormkitError(
      'E_OPTION',
      `${plugin} options.${key}: expected ${rangeText(constraint)}, got ${describeValue(value)}`,
      `options.${key}`,
    );
  }
  return value;
}

/**
 * A boolean option: the value given or the default.
 *
 * @param options - the record from {@link readOptions}
 * @param key - the option name
 * @param fallback - the default, used when `key` is absent
 * @param plugin - the plugin name, for messages
 * @returns the option's value
 * @throws NormkitError `E_OPTION` when the value is not a boolean
 */
export function booleanOption(options: Record<string, unknown>, key: string, fallback: boolean, plugin: string): boolean {
  const value = key in options ? options[key] : fallback;
  if (typeof value !== 'boolean') {
    throw new NormkitError('E_OPTION', `${plugin} options.${key}: expected true or false, got ${describeValue(value)}`, `options.${key}`);
  }
  return value;
}

/**
 * A list of positive integers (a shape), given as one number or an array.
 *
 * @param options - the record from {@link readOptions}
 * @param key - the option name (the option is required)
 * @param plugin - the plugin name, for messages
 * @returns a new array: `[n]` for a number `n`, a copy of the list otherwise
 * @throws NormkitError `E_OPTION` when missing, empty, or holding anything but positive integers
 */
export function shapeOption(options: Record<string, unknown>, key: string, plugin: string): number[] {
  const value = options[key];
  const list = typeof value === 'number' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((d: unknown) => typeof d === 'number' && Number.isInteger(d) && d > 0)
  ) {
    throw new NormkitError(
      'E_OPTION',
      `${plugin} options.${key}: expected a positive integer or a non-empty list of them, got ${describeValue(value)}`,
      `options.${key}`,
    );
  }
  return (list as number[]).slice();
}

/**
 * Checks a forward call's mode.
 *
 * @param mode - what came
 * @param plugin - the plugin name, for the message
 * @returns `mode`, typed as a {@link Mode}
 * @throws NormkitError `E_OPTION` unless it is `'train'` or `'eval'`
 */
export function assertMode(mode: unknown, plugin: string): 'train' | 'eval' {
  if (mode !== 'train' && mode !== 'eval') {
    throw new NormkitError('E_OPTION', `${plugin} forward: mode expected 'train' or 'eval', got ${describeValue(mode)}`, 'mode');
  }
  return mode;
}

/**
 * The entries of a plain record (options read from JSON, such as a PyTorch test vector's
 * `options`) that a plugin's options type names, typed as its input options. Values are not
 * checked here: `resolveOptions` checks them.
 *
 * @param record - the record
 * @param keys - the option names to keep
 * @returns a new object with the kept entries
 */
export function pickOptions<O extends object>(record: Readonly<Record<string, unknown>>, keys: readonly (keyof O & string)[]): O {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(record, key)) picked[key] = record[key];
  return picked as O;
}
