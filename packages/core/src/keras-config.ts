import { NormkitError, describeValue } from './errors.js';

/** A Keras config, read: one getter per kind of value, Keras's defaults, errors that name the key. */
export interface KerasConfig {
  /** The layer's class name, for messages. */
  readonly className: string;
  /** Whether the config holds the key (in either spelling). */
  has(key: string): boolean;
  /** The raw value of a key (in either spelling), or `undefined`. */
  value(key: string): unknown;
  /**
   * A number, or `fallback` when the key is absent.
   *
   * @throws NormkitError `E_OPTION` for a non-number or a value outside `[min, max]`
   */
  number(key: string, fallback: number, range?: { readonly min?: number; readonly max?: number; readonly above?: number }): number;
  /** A boolean, or `fallback` when the key is absent. @throws NormkitError `E_OPTION` for a non-boolean */
  boolean(key: string, fallback: boolean): boolean;
  /** An axis or list of axes (integers), or `fallback` when absent. @throws NormkitError `E_OPTION` otherwise */
  axes(key: string, fallback: number): number[];
  /**
   * Refuses a key whose value is not its neutral one (`renorm: true`), with a hint.
   *
   * @throws NormkitError `E_OPTION` naming the key, the value and what to use instead
   */
  refuse(key: string, neutral: unknown, hint: string): void;
}

/** `moving_mean` → `movingMean`. */
function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * `movingMean` → `moving_mean`: how messages name a key, as Python Keras does.
 *
 * @param key - a camelCase key
 * @returns its snake_case spelling
 */
export function snakeCaseKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Reads a Keras config (snake_case or camelCase keys).
 *
 * @param raw - `get_config()` / `getConfig()`
 * @param className - the layer's class name, for messages
 * @returns the reader
 * @throws NormkitError `E_OPTION` for a non-object, or a key given in both spellings with different values
 */
export function readKerasConfig(raw: unknown, className: string): KerasConfig {
  const prototype = typeof raw === 'object' && raw !== null ? Object.getPrototypeOf(raw) : undefined;
  if (typeof raw !== 'object' || raw === null || (prototype !== Object.prototype && prototype !== null)) {
    // A Map or a class instance has no own keys to read: it would be read as {} (every default).
    const what = raw instanceof Map ? 'a Map (convert it with Object.fromEntries(config))' : describeValue(raw);
    throw new NormkitError('E_OPTION', `keras ${className} config: expected a plain object (get_config() / getConfig()), got ${what}`, 'config');
  }
  const values = new Map<string, unknown>();
  for (const [key, value] of Object.entries(raw)) {
    const camel = camelCase(key);
    if (values.has(camel) && !Object.is(values.get(camel), value)) {
      throw new NormkitError('E_OPTION', `keras ${className} config: ${snakeCaseKey(camel)} is given twice (as ${camel} and ${snakeCaseKey(camel)}) with different values`, `config.${key}`);
    }
    values.set(camel, value);
  }
  const where = (key: string) => `keras ${className} config.${snakeCaseKey(key)}`;
  return {
    className,
    has: (key) => values.has(key),
    value: (key) => values.get(key),
    number(key, fallback, range = {}) {
      const value = values.has(key) ? values.get(key) : fallback;
      const { min = -Infinity, max = Infinity, above } = range;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (above !== undefined && value <= above)) {
        const bounds = above !== undefined ? ` > ${above}` : min === -Infinity && max === Infinity ? '' : ` in [${min}, ${max}]`;
        throw new NormkitError('E_OPTION', `${where(key)}: expected a finite number${bounds}, got ${describeValue(value)}`, `config.${snakeCaseKey(key)}`);
      }
      return value;
    },
    boolean(key, fallback) {
      const value = values.has(key) ? values.get(key) : fallback;
      if (typeof value !== 'boolean') throw new NormkitError('E_OPTION', `${where(key)}: expected a boolean, got ${describeValue(value)}`, `config.${snakeCaseKey(key)}`);
      return value;
    },
    axes(key, fallback) {
      const value = values.has(key) ? values.get(key) : fallback;
      const list = Array.isArray(value) ? value : [value];
      if (list.length === 0 || !list.every((a) => Number.isInteger(a))) {
        throw new NormkitError('E_OPTION', `${where(key)}: expected an integer or a non-empty list of integers, got ${describeValue(value)}`, `config.${snakeCaseKey(key)}`);
      }
      return list as number[];
    },
    refuse(key, neutral, hint) {
      if (!values.has(key)) return;
      const value = values.get(key);
      if (value === neutral || (value === null && neutral === undefined) || (value === undefined && neutral === null)) return;
      throw new NormkitError('E_OPTION', `${where(key)}: normkit's import supports only ${JSON.stringify(neutral)}, got ${describeValue(value)}; ${hint}`, `config.${snakeCaseKey(key)}`);
    },
  };
}

/**
 * Keras's momentum (the weight of the old running value) as normkit's (the weight of the new
 * batch value): `1 − momentum`, rounded to 15 significant digits so that `0.99` gives `0.01`
 * and not `0.010000000000000009`.
 *
 * @param kerasMomentum - Keras's `momentum`, in [0, 1]
 * @returns normkit's `momentum`
 * @throws NormkitError `E_OPTION` for anything but a finite number in [0, 1]
 */
export function momentumFromKeras(kerasMomentum: number): number {
  if (typeof kerasMomentum !== 'number' || !(kerasMomentum >= 0 && kerasMomentum <= 1)) {
    throw new NormkitError('E_OPTION', `momentumFromKeras: expected Keras's momentum, a number in [0, 1], got ${describeValue(kerasMomentum)}`, 'momentum');
  }
  return Number((1 - kerasMomentum).toPrecision(15));
}
