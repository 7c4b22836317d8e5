/**
 * The stable error codes that every normkit package throws with.
 *
 * - `E_SHAPE`: a tensor has the wrong rank or shape, or is empty.
 * - `E_DTYPE`: a tensor is not a `Float32Array` / `Float64Array` ndarray, or dtypes disagree.
 * - `E_OPTION`: an option is missing, of the wrong type, or out of range.
 * - `E_DEGENERATE`: the statistics are undefined, e.g. one value per channel in training.
 * - `E_NONFINITE`: NaN or ±Infinity where finite values are required.
 * - `E_STATE`: a state dict or saved context does not fit (missing, extra, misshapen entries).
 * - `E_REGISTRY`: a registry lookup or registration failed (unknown or duplicate name).
 * - `E_PLUGIN`: an object does not implement the {@link Normalizer} contract.
 * - `E_FORMAT`: bytes or text are not a valid file of the format being read
 *   (safetensors, the JSON state dict of `@normkit/io`).
 */
export type NormkitErrorCode =
  | 'E_SHAPE'
  | 'E_DTYPE'
  | 'E_OPTION'
  | 'E_DEGENERATE'
  | 'E_NONFINITE'
  | 'E_STATE'
  | 'E_REGISTRY'
  | 'E_PLUGIN'
  | 'E_FORMAT';

const ERROR_BRAND: unique symbol = Symbol.for('@normkit/core:NormkitError');

/** Every code in {@link NormkitErrorCode}, in a stable order. */
export const ERROR_CODES: readonly NormkitErrorCode[] = Object.freeze([
  'E_SHAPE',
  'E_DTYPE',
  'E_OPTION',
  'E_DEGENERATE',
  'E_NONFINITE',
  'E_STATE',
  'E_REGISTRY',
  'E_PLUGIN',
  'E_FORMAT',
]);

/**
 * The one error type normkit throws on bad input.
 *
 * `code` is stable and meant for programs; `message` is for people and names the
 * argument, what was expected and what came. A call that throws a `NormkitError`
 * has changed no parameter and no running statistic.
 *
 * @example
 * ```ts
 * try { layer.forward(x); } catch (e) {
 *   if (e instanceof NormkitError && e.code === 'E_SHAPE') console.error(e.message);
 * }
 * ```
 */
export class NormkitError extends Error {
  /**
   * `instanceof NormkitError` holds for errors thrown by any copy of `@normkit/core`
   * (two installed versions, or source and build in one process): the check reads a
   * global brand, not the class identity.
   *
   * @param value - anything, typically a caught error
   * @returns whether `value` carries the `NormkitError` brand
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ERROR_BRAND] === true;
  }

  /** The stable machine-readable code. */
  readonly code: NormkitErrorCode;
  /** The argument or option the error is about, e.g. `"x"` or `"options.eps"`. */
  readonly argument: string | undefined;

  /**
   * @param code - the stable error code
   * @param message - a sentence naming the argument, what was expected and what came
   * @param argument - the argument or option name, when there is one
   */
  constructor(code: NormkitErrorCode, message: string, argument?: string) {
    super(message);
    this.name = 'NormkitError';
    this.code = code;
    this.argument = argument;
    Object.defineProperty(this, ERROR_BRAND, { value: true });
  }
}

/**
 * Type guard: is `value` a {@link NormkitError}, optionally with the given code?
 *
 * @param value - anything caught
 * @param code - when given, the code it must carry
 * @returns `true` when `value` is a `NormkitError` (with `code`, when given)
 * @example
 * ```ts
 * try { layer.forward(x); } catch (e) {
 *   if (isNormkitError(e, 'E_DEGENERATE')) console.warn(e.message);
 *   else throw e;
 * }
 * ```
 */
export function isNormkitError(value: unknown, code?: NormkitErrorCode): value is NormkitError {
  return value instanceof NormkitError && (code === undefined || value.code === code);
}

/**
 * Renders a value for an error message: short, and never throwing.
 *
 * @param value - what came
 * @returns a short description, e.g. `NaN`, `"abc"`, `an array of length 3`, `a Float32Array`
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'function') return 'a function';
  return 'an object';
}
