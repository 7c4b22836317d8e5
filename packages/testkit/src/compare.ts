import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';

/** What the comparisons accept: a tensor (any layout, read row-major) or plain values. */
export type Values = Tensor | Float64Array | Float32Array;

function valuesOf(v: Values): ArrayLike<number> {
  return v instanceof Float64Array || v instanceof Float32Array ? v : toTypedArray(v);
}

function sameLength(x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new Error(`compare: lengths differ (${x.length} and ${y.length})`);
}

/**
 * The largest difference relative to the reference's scale:
 * $`\max_i |a_i - b_i| \,/\, (1 + \max_i |b_i|)`$ — the measure for float32 outputs, whose
 * rounding is relative to the largest value, not to each one.
 *
 * @param a - the values checked
 * @param b - the reference
 * @throws Error when the lengths differ
 */
export function scaledError(a: Values, b: Values): number {
  const x = valuesOf(a);
  const y = valuesOf(b);
  sameLength(x, y);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < y.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]));
    err = Math.max(err, Math.abs(x[i] - y[i]));
  }
  return err / (1 + scale);
}

/**
 * The largest elementwise relative difference $`\max_i |a_i - b_i| / |b_i|`$ (equal values,
 * infinities included, count as 0; a zero reference divides by 1e-300).
 *
 * @param a - the values checked
 * @param b - the reference
 * @throws Error when the lengths differ
 */
export function relativeError(a: Values, b: Values): number {
  const x = valuesOf(a);
  const y = valuesOf(b);
  sameLength(x, y);
  let err = 0;
  for (let i = 0; i < y.length; i++) {
    if (x[i] === y[i]) continue;
    err = Math.max(err, Math.abs(x[i] - y[i]) / Math.max(1e-300, Math.abs(y[i])));
  }
  return err;
}

/**
 * How many values differ at all (`Object.is`: NaN equals NaN, 0 and −0 differ).
 *
 * @param a - the values checked
 * @param b - the reference
 * @throws Error when the lengths differ
 */
export function differences(a: Values, b: Values): number {
  const x = valuesOf(a);
  const y = valuesOf(b);
  sameLength(x, y);
  let n = 0;
  for (let i = 0; i < y.length; i++) if (!Object.is(x[i], y[i])) n++;
  return n;
}

/**
 * The largest absolute value (0 when empty); a loop, since spreading a million values into
 * `Math.max` overflows the stack.
 *
 * @param values - the values
 */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * The largest absolute difference $`\max_i |a_i - b_i|`$, for values against a float64 reference.
 *
 * @param a - the values checked (a tensor, a typed array or plain numbers)
 * @param b - the reference
 * @returns the largest |aᵢ − bᵢ| (0 when empty)
 * @throws Error when the lengths differ
 */
export function maxAbsDifference(a: Values | ArrayLike<number>, b: Values | ArrayLike<number>): number {
  const x = isValues(a) ? valuesOf(a) : a;
  const y = isValues(b) ? valuesOf(b) : b;
  sameLength(x, y);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}

function isValues(v: Values | ArrayLike<number>): v is Values {
  return v instanceof Float64Array || v instanceof Float32Array || (typeof v === 'object' && v !== null && 'shape' in v && 'data' in v);
}
