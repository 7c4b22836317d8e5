import { dtypeOf, sizeOf } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { valuesOf } from './reference.js';

/**
 * The tolerances of this package, relative to the scale of what is compared
 * (`scale` = the largest magnitude a value could reach in the computation, at least
 * max|expected|):
 *
 * - {@link RTOL_FLOAT64}: a float64 kernel against the float64 reference (1e-10).
 * - {@link RTOL_FLOAT32_OUT}: a kernel that computes in float64 and rounds its output to
 *   float32 once, against the float64 reference (a few float32 ulps).
 * - {@link RTOL_STRIDED}: a strided view against its contiguous copy (1e-12: the sums may run
 *   in another order; float32 outputs may round the other way, so 2 ulps there).
 * - {@link RTOL_F32_VS_F64}: float32 data and parameters against float64 (1e-4), for inputs
 *   whose variance is ≫ eps.
 */
export const RTOL_FLOAT64 = 1e-10;
export const RTOL_FLOAT32_OUT = 4 * 2 ** -23;
export const RTOL_STRIDED = 1e-12;
export const RTOL_STRIDED_F32 = 2 * 2 ** -23;
export const RTOL_F32_VS_F64 = 1e-4;

/** max |v| over an array (0 for none; Infinity/NaN propagate as Infinity). */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (!(a <= m)) m = Number.isNaN(a) ? Infinity : a;
  }
  return m;
}

/** Are all values finite? */
export function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Row-major values of a tensor or a plain array. */
export function flat(t: Tensor | ArrayLike<number>): Float64Array {
  if (typeof t === 'object' && t !== null && 'shape' in t && 'stride' in t) return valuesOf(t as Tensor);
  return Float64Array.from(t as ArrayLike<number>);
}

/**
 * Asserts |actual − expected| ≤ rtol·scale elementwise (scale ≥ max|expected|, ≥ `floor`),
 * and that both have the same length and finiteness. Throws a message naming the worst index.
 */
export function assertClose(label: string, actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number>, rtol: number, scaleHint = 0): void {
  const a = flat(actual);
  const e = flat(expected);
  if (a.length !== e.length) throw new Error(`${label}: ${a.length} values, expected ${e.length}`);
  const scale = Math.max(maxAbs(e), scaleHint, 1e-300);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    const err = a[i] === e[i] ? 0 : Math.abs(a[i] - e[i]);
    if (!(err <= worstErr)) {
      worstErr = Number.isNaN(err) ? Infinity : err;
      worst = i;
    }
  }
  if (worst >= 0 && !(worstErr <= rtol * scale)) {
    throw new Error(
      `${label}: |actual − expected| = ${worstErr.toExponential(3)} at flat index ${worst} ` +
        `(actual ${a[worst]}, expected ${e[worst]}) > ${rtol.toExponential(1)} × scale ${scale.toExponential(3)}`,
    );
  }
}

/** The output tolerance for a tensor of this dtype against the float64 reference. */
export function rtolFor(t: Tensor): number {
  return dtypeOf(t) === 'float32' ? RTOL_FLOAT32_OUT : RTOL_FLOAT64;
}

/** Is the tensor of the given shape (axis by axis)? */
export function hasShape(t: Tensor, shape: readonly number[]): boolean {
  return t.shape.length === shape.length && t.shape.every((d, k) => d === shape[k]) && sizeOf(t.shape) === sizeOf(shape);
}

/** Asserts |actual − expected| ≤ absTol elementwise (NaN must match NaN). */
export function assertWithin(label: string, actual: Tensor | ArrayLike<number>, expected: Tensor | ArrayLike<number>, absTol: number): void {
  const a = flat(actual);
  const e = flat(expected);
  if (a.length !== e.length) throw new Error(`${label}: ${a.length} values, expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]) && Number.isNaN(a[i])) continue;
    const err = Math.abs(a[i] - e[i]);
    if (!(err <= absTol)) {
      throw new Error(`${label}: |actual − expected| = ${err} at flat index ${i} (actual ${a[i]}, expected ${e[i]}) > ${absTol.toExponential(3)}`);
    }
  }
}
