import { unravel } from '@normkit/core';

/**
 * The first value of `actual` that is not within `rtol·|expected| + atol·scale` of
 * `expected` (index by index; NaN never is), or `null` when all are.
 *
 * @param actual - the values to check
 * @param expected - the reference values, as many
 * @param rtol - relative tolerance
 * @param atol - absolute tolerance, times `scale`
 * @param scale - the magnitude the absolute tolerance is relative to
 * @returns the flat index and both values, or `null`
 */
export function firstMismatch(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
  scale: number,
): { index: number; actual: number; expected: number } | null {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol * scale)) return { index: i, actual: a, expected: e };
  }
  return null;
}

/** max(1, max |v|) over any number of arrays. */
export function magnitude(...arrays: ArrayLike<number>[]): number {
  let m = 1;
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const v = Math.abs(values[i]);
      if (v > m) m = v;
    }
  }
  return m;
}

/** A multi-index for messages: `[1, 2]`, or `[]` for a 0-d tensor. */
export function indexText(flat: number, shape: readonly number[]): string {
  return `[${unravel(flat, shape).join(', ')}]`;
}
