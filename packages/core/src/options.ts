import { NormkitError, describeValue } from './errors.js';

/**
 * Reads user options as a plain object and rejects keys the plugin does not know
 * (a typo such as `momentun` should fail loudly, as Python keyword arguments do).
 *
 * @param input - what the user passed (`undefined` means `{}`)
 * @param known - the option names the plugin accepts
 * @param plugin - the plugin name, for messages
 * @returns the options as a record of own properties
 * @throws NormkitError `E_OPTION` for a non-object or an unknown key (with a hint for a
 *   snake_case name, a name in the wrong case, or a Keras, TF.js or Flax option name)
 */
export function readOptions(input: unknown, known: readonly string[], plugin: string): Record<string, unknown> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new NormkitError('E_OPTION', `${plugin} options: expected an object of named options (${known.join(', ')}), got ${describeValue(input)}`, 'options');
  }
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      const hint = optionHint(key, known);
      throw new NormkitError(
        'E_OPTION',
        `${plugin} options: unknown option ${JSON.stringify(key)}; expected one of ${known.join(', ')}${hint === null ? '' : `. ${hint}`}`,
        `options.${key}`,
      );
    }
    const value: unknown = (input as Record<string, unknown>)[key];
    if (value !== undefined) record[key] = value;
  }
  return record;
}

/**
 * What other frameworks call an option, and where normkit has it: Keras and TF.js names, and
 * Flax's, each with the normkit option (or options) that plays its part when the plugin has it
 * (and `also`, when given: layer norm's `bias` is Keras's `center`; a linear layer's is not).
 */
const FOREIGN_OPTIONS: Readonly<Record<string, readonly { readonly option: string; readonly also?: string; readonly text: string }[]>> = {
  epsilon: [{ option: 'eps', text: "Keras's and TF.js's epsilon is eps here (the defaults differ between frameworks: pass it explicitly when porting)" }],
  axis: [
    { option: 'channelAxis', text: "Keras's axis (the channel axis) is channelAxis here: channelAxis: -1 for channels-last data" },
    { option: 'normalizedShape', text: "Keras's axis is normalizedShape here: the sizes of the trailing axes normalized over, e.g. [768] for axis -1" },
  ],
  center: [
    { option: 'affine', text: "Keras's center and scale are one switch here, affine (both parameters or neither)" },
    { option: 'bias', also: 'normalizedShape', text: "Keras's center is bias here (center: false → bias: false)" },
  ],
  scale: [
    { option: 'affine', text: "Keras's center and scale are one switch here, affine (both parameters or neither)" },
    { option: 'elementwiseAffine', text: "Keras's scale (γ) is elementwiseAffine here; elementwiseAffine: false drops every parameter" },
  ],
  groups: [{ option: 'numGroups', text: "Keras's groups is numGroups here (groups: -1, one group per channel, is numGroups: numChannels)" }],
  data_format: [{ option: 'channelAxis', text: "Keras's data_format is channelAxis here: channels_last → channelAxis: -1" }],
  dataFormat: [{ option: 'channelAxis', text: "TF.js's dataFormat is channelAxis here: channelsLast → channelAxis: -1" }],
  training: [{ option: '', text: "training is a mode here, not an option: call layer.train() or layer.eval() (a plugin's forward takes { mode })" }],
  use_running_average: [
    { option: 'trackRunningStats', text: "Flax's use_running_average is the mode here: layer.eval() uses the running statistics" },
    { option: '', text: "Flax's use_running_average is the mode here: layer.train() or layer.eval()" },
  ],
};

/**
 * A hint for an unknown option: the camelCase name of a snake_case one (PyTorch's
 * `num_features`), a name that differs only in case, or what a Keras, TF.js or Flax option is
 * called here; `null` when there is none.
 */
function optionHint(key: string, known: readonly string[]): string | null {
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (camel !== key && known.includes(camel)) return `Did you mean ${camel}? (normkit's options are camelCase)`;
  const sameLetters = known.find((k) => k.toLowerCase() === key.toLowerCase());
  if (sameLetters !== undefined) return `Did you mean ${sameLetters}?`;
  const foreign = Object.hasOwn(FOREIGN_OPTIONS, key) ? FOREIGN_OPTIONS[key] : [];
  for (const { option, also, text } of foreign) {
    if (option === '' || (known.includes(option) && (also === undefined || known.includes(also)))) return `${text}.`;
  }
  return null;
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
