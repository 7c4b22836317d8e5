/**
 * The most axes a tensor read from a file may have: 64, NumPy's limit. `ndarray` generates
 * code per rank, which grows quickly beyond that, so a hostile file could stall a reader.
 */
export const MAX_TENSOR_RANK = 64;

/**
 * Why `value` is not a shape a reader accepts, or `undefined` when it is: a list of at most
 * {@link MAX_TENSOR_RANK} non-negative safe integers whose running product (left to right)
 * stays a safe integer, so element counts are exact.
 *
 * @param value - a `shape` field read from a file
 * @returns `undefined`, or a phrase saying what is wrong
 */
export function shapeProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'expected a list of non-negative integers';
  if (value.length > MAX_TENSOR_RANK) return `expected at most ${MAX_TENSOR_RANK} axes, got ${value.length}`;
  let count = 1;
  for (const d of value) {
    if (typeof d === 'number' && Number.isInteger(d) && d > Number.MAX_SAFE_INTEGER) return 'expected sizes of at most 2^53 − 1';
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return 'expected a list of non-negative integers';
    count *= d;
    if (!Number.isSafeInteger(count)) return 'expected at most 2^53 − 1 elements';
  }
  return undefined;
}

/**
 * A list for an error message: at most eight items, then how many there are.
 *
 * @param value - what came (a list or anything else)
 * @returns e.g. `[2, -1, "a"]`, or `[1, 1, 1, 1, 1, 1, 1, 1, … (100 items)]`
 */
export function describeList(value: unknown, describe: (v: unknown) => string): string {
  if (!Array.isArray(value)) return describe(value);
  const shown = value.slice(0, 8).map((v: unknown) => (typeof v === 'number' ? String(v) : describe(v)));
  return `[${shown.join(', ')}${value.length > 8 ? `, … (${value.length} items)` : ''}]`;
}
