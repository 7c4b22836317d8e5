import { toContiguous, toTypedArray, unravel } from '@normkit/core';
import type { Tensor } from '@normkit/core';

/** Σ a·b in float64, row-major (any strides). */
export function dot(a: Tensor, b: Tensor): number {
  const av = toTypedArray(a);
  const bv = toTypedArray(b);
  let sum = 0;
  for (let i = 0; i < av.length; i++) sum += av[i] * bv[i];
  return sum;
}

/**
 * Central differences of a scalar function at a float64 tensor:
 * `(f(t + h·e_i) − f(t − h·e_i)) / 2h` for every element `i` (row-major).
 */
export function centralDifference(f: (t: Tensor) => number, at: Tensor, h = 1e-6): Float64Array {
  const base = toContiguous(at, 'float64');
  const grad = new Float64Array(base.data.length);
  for (let i = 0; i < grad.length; i++) {
    const plus = toContiguous(base);
    const minus = toContiguous(base);
    plus.data[i] += h;
    minus.data[i] -= h;
    grad[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return grad;
}

/** max_i |a_i − b_i| / max(1, max_i |b_i|): the error relative to the reference's scale. */
export function scaledMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

/** Per-slice sums of `f(a_i, b_i)` along `dim` (`null`: one slice). */
export function perSlice(a: Tensor, b: Tensor, dim: number | null, f: (x: number, y: number) => number): Float64Array {
  const av = toTypedArray(a);
  const bv = toTypedArray(b);
  const count = dim === null ? 1 : a.shape[dim];
  const out = new Float64Array(count);
  for (let i = 0; i < av.length; i++) {
    const s = dim === null ? 0 : unravel(i, a.shape)[dim];
    out[s] += f(av[i], bv[i]);
  }
  return out;
}

/** The bytes of every buffer behind the tensors, as hex: equal strings mean bitwise-unchanged buffers. */
export function bytesOf(...tensors: (Tensor | undefined)[]): string {
  return tensors
    .map((t) => (t === undefined ? '-' : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex')))
    .join('|');
}
