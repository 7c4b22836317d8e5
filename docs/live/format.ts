/**
 * How the live page writes a number in its table (the browser test formats Node's numbers
 * with the same function and compares the text).
 *
 * @param v - the number, or `null` for "not applicable"
 * @param kind - `'sum'` for sums that should be zero (written in exponent form)
 * @returns the text of the cell
 */
export function formatCell(v: number | null, kind: 'value' | 'sum' = 'value'): string {
  if (v === null) return '—';
  if (kind === 'sum') return v.toExponential(1);
  const text = v.toFixed(3);
  return text === '-0.000' ? '0.000' : text;
}
