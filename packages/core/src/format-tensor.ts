import { NormkitError, describeValue } from './errors.js';
import type { Tensor } from './tensor.js';
import { assertTensor, dtypeOf, sizeOf } from './tensor.js';

/** Options of {@link formatTensor}. */
export interface FormatTensorOptions {
  /** Digits after the decimal point (default 4, as PyTorch prints). */
  readonly precision?: number;
  /** Summarize with `...` when the tensor has more elements than this (default 1000, as PyTorch). */
  readonly threshold?: number;
  /** Entries kept at each end of an axis when summarizing (default 3). */
  readonly edgeItems?: number;
}

const PREFIX = 'tensor(';

/**
 * A tensor as text for people, in PyTorch's layout: nested brackets, one row per line,
 * columns aligned, a common number format (integers as integers; fixed-point with
 * `precision` decimals; exponent notation when the magnitudes span more than 1000× or
 * leave fixed-point), the dtype, and `...` for the middle of long axes of large tensors.
 * Works on any ndarray tensor, any strides and offset. (Tensors are plain `ndarray` objects
 * that normkit does not own, so this is a function, not a `toString` method.)
 *
 * @param t - the tensor
 * @param options - `precision`, `threshold`, `edgeItems`
 * @returns e.g. `"tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], dtype=float32)"`
 * @throws NormkitError `E_OPTION` for a `precision` outside 0…20 or a negative `threshold`/`edgeItems`
 * @example
 * ```ts
 * console.log(formatTensor(tensor([[1, 2], [3, 4]])));
 * // tensor([[1, 2],
 * //         [3, 4]], dtype=float32)
 * ```
 */
export function formatTensor(t: Tensor, options: FormatTensorOptions = {}): string {
  const precision = checkCount(options.precision ?? 4, 'options.precision', 20);
  const threshold = checkCount(options.threshold ?? 1000, 'options.threshold', Infinity);
  const edgeItems = checkCount(options.edgeItems ?? 3, 'options.edgeItems', Infinity);
  const { data, shape, stride } = assertTensor(t, 't', { allowEmpty: true });
  const summarize = sizeOf(shape) > threshold;
  const shown = (axis: number): number[] => {
    const n = shape[axis];
    if (!summarize || n <= 2 * edgeItems) return Array.from({ length: n }, (_, i) => i);
    return [...Array.from({ length: edgeItems }, (_, i) => i), -1, ...Array.from({ length: edgeItems }, (_, i) => n - edgeItems + i)];
  };

  // The values shown decide one number format for all of them.
  const values: number[] = [];
  const collect = (axis: number, p: number): void => {
    if (axis === shape.length) {
      values.push(data[p]);
      return;
    }
    for (const i of shown(axis)) if (i >= 0) collect(axis + 1, p + i * stride[axis]);
  };
  collect(0, t.offset);
  const format = numberFormat(values, precision);
  let width = 0;
  for (const v of values) width = Math.max(width, format(v).length);

  const render = (axis: number, p: number, indent: number): string => {
    if (axis === shape.length) return format(data[p]).padStart(width);
    const parts = shown(axis).map((i) => (i < 0 ? '...' : render(axis + 1, p + i * stride[axis], indent + 1)));
    if (axis === shape.length - 1) return `[${parts.join(', ')}]`;
    // Between sub-blocks: a new line, and one blank line per further level (as PyTorch).
    const separator = `,${'\n'.repeat(shape.length - axis - 1)}${' '.repeat(indent + 1)}`;
    return `[${parts.join(separator)}]`;
  };
  const body = shape.length === 0 ? format(data[t.offset]) : render(0, t.offset, PREFIX.length);
  return `${PREFIX}${body}, dtype=${dtypeOf(t)})`;
}

function checkCount(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) && value !== Infinity) {
    throw new NormkitError('E_OPTION', `formatTensor ${name}: expected a non-negative integer, got ${describeValue(value)}`, name);
  }
  if (value < 0 || value > max) {
    throw new NormkitError('E_OPTION', `formatTensor ${name}: expected an integer in [0, ${max}], got ${value}`, name);
  }
  return value;
}

/** One format for a set of values: integers, fixed-point, or exponent notation. */
function numberFormat(values: readonly number[], precision: number): (v: number) => string {
  let maxAbs = 0;
  let minAbs = Infinity;
  let integers = true;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a !== 0 && a < minAbs) minAbs = a;
    if (!Number.isInteger(v)) integers = false;
  }
  const special = (v: number): string | null => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : null);
  if (integers && maxAbs < 1e8) return (v) => special(v) ?? (Object.is(v, -0) ? '-0' : String(v));
  const exponent = maxAbs >= 1e8 || (minAbs !== Infinity && (minAbs < 1e-4 || maxAbs / minAbs > 1000));
  if (exponent) return (v) => special(v) ?? v.toExponential(precision);
  return (v) => special(v) ?? v.toFixed(precision);
}
