/**
 * A float64 value as JSON text that reads back exactly: the shortest round-trip decimal
 * (JavaScript's `String(number)`), `-0` for negative zero, and `"NaN"`, `"Infinity"`,
 * `"-Infinity"` (strings) for the values JSON numbers cannot spell.
 *
 * @param value - any number
 * @returns its JSON text
 */
export function float64Text(value: number): string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : String(value);
  return nonFiniteText(value);
}

/**
 * A float32 value as JSON text that reads back exactly once rounded to float32: the
 * shortest decimal (at most 9 significant digits) `d` with `Math.fround(d) === value`, then
 * as {@link float64Text}. So float32 `0.1` is written `0.1`, not `0.10000000149011612`.
 *
 * @param value - a number that is exactly a float32 (an element of a `Float32Array`)
 * @returns its JSON text
 */
export function float32Text(value: number): string {
  if (!Number.isFinite(value)) return nonFiniteText(value);
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  for (let digits = 1; digits < 10; digits++) {
    const shorter = Number(value.toPrecision(digits));
    if (Math.fround(shorter) === value) return String(shorter);
  }
  return String(value); // unreachable: 9 digits tell float32 values apart; value itself is exact
}

function nonFiniteText(value: number): string {
  if (Number.isNaN(value)) return '"NaN"';
  return value > 0 ? '"Infinity"' : '"-Infinity"';
}

/**
 * The number a JSON state-dict element stands for: a finite number as is, and the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"`; `undefined` for anything else (other strings, a
 * non-finite number, which only an overflowing literal such as `1e400` produces).
 *
 * @param value - a parsed element
 * @returns its value, or `undefined` when it is not a valid element
 */
export function elementValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return undefined;
}
