import fc from 'fast-check';
import ndarray from 'ndarray';
import { arrayTypeOf, sizeOf } from '@normkit/core';
import type { Dtype, Shape, Tensor } from '@normkit/core';
import { normal } from '@normkit/testkit';

/**
 * How a tensor of a given logical shape is laid out in memory: built from a padded
 * row-major base array with `ndarray`'s own view methods, so every layout a user can
 * make (`.lo`, `.hi`, `.step` with negative steps, `.transpose`) is reachable.
 */
export interface ViewSpec {
  /** Base-array axis j holds logical axis `perm[j]` (identity = no transpose). */
  readonly perm: readonly number[];
  /** Per logical axis, the `.step` (±1, ±2, 3; negative = reversed). */
  readonly steps: readonly number[];
  /** Per logical axis, how many leading elements `.lo` skips. */
  readonly lo: readonly number[];
  /** Elements before the base array in the buffer (a non-zero offset). */
  readonly pad: number;
}

/** The row-major contiguous layout of a rank (offset 0). */
export function contiguousSpec(rank: number): ViewSpec {
  return { perm: [...Array(rank).keys()], steps: new Array<number>(rank).fill(1), lo: new Array<number>(rank).fill(0), pad: 0 };
}

/** Does the spec describe a plain row-major tensor at offset 0? */
export function isPlainSpec(spec: ViewSpec): boolean {
  return spec.pad === 0 && spec.perm.every((a, j) => a === j) && spec.steps.every((s) => s === 1) && spec.lo.every((l) => l === 0);
}

/** Describes a spec in one line, for messages. */
export function describeSpec(spec: ViewSpec): string {
  return isPlainSpec(spec) ? 'contiguous' : `perm=[${spec.perm}] steps=[${spec.steps}] lo=[${spec.lo}] pad=${spec.pad}`;
}

/**
 * A tensor of `shape` and `dtype` holding `values` (row-major order) in the layout `spec`.
 * Every buffer element outside the view is NaN, so a kernel that reads outside its view
 * produces NaN where a finite value is expected.
 */
export function makeView(values: ArrayLike<number>, shape: Shape, dtype: Dtype, spec: ViewSpec = contiguousSpec(shape.length)): Tensor {
  const rank = shape.length;
  if (values.length !== sizeOf(shape)) throw new Error(`makeView: ${values.length} values for shape [${shape.join(', ')}]`);
  const Ctor = arrayTypeOf(dtype);
  if (rank === 0) {
    const data = new Ctor(spec.pad + 2).fill(Number.NaN);
    data[spec.pad] = values[0];
    return ndarray(data, [], [], spec.pad);
  }
  // Base-array axis j holds logical axis a = perm[j], with room for lo, the stepped run and 1 spare.
  const baseShape = spec.perm.map((a) => spec.lo[a] + Math.abs(spec.steps[a]) * (Math.max(shape[a], 1) - 1) + 1 + 1);
  const data = new Ctor(spec.pad + sizeOf(baseShape) + 1).fill(Number.NaN);
  const strides: number[] = new Array<number>(rank);
  for (let j = rank - 1, s = 1; j >= 0; j--) {
    strides[j] = s;
    s *= baseShape[j];
  }
  let view = ndarray(data, baseShape, strides, spec.pad);
  view = view.lo(...spec.perm.map((a) => spec.lo[a]));
  view = view.hi(...spec.perm.map((a) => Math.abs(spec.steps[a]) * (shape[a] - 1) + 1));
  view = view.step(...spec.perm.map((a) => spec.steps[a]));
  // Logical axis a sits at base axis perm⁻¹[a].
  const inverse = new Array<number>(rank);
  spec.perm.forEach((a, j) => (inverse[a] = j));
  view = view.transpose(...inverse);
  if (shape.some((d, k) => view.shape[k] !== d)) throw new Error(`makeView: built shape [${view.shape}] for [${shape}]`);
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < values.length; flat++) {
    view.set(...index, values[flat]);
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  return view as Tensor;
}

/** An arbitrary layout for a tensor of `rank`: contiguous about a quarter of the time. */
export function viewSpecArb(rank: number): fc.Arbitrary<ViewSpec> {
  const axes = [...Array(rank).keys()];
  const strided = fc.record({
    perm: rank === 0 ? fc.constant([] as number[]) : fc.shuffledSubarray(axes, { minLength: rank, maxLength: rank }),
    steps: fc.array(fc.constantFrom(1, 1, -1, 2, -2, 3), { minLength: rank, maxLength: rank }),
    lo: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: rank, maxLength: rank }),
    pad: fc.integer({ min: 0, max: 3 }),
  });
  return fc.oneof({ arbitrary: fc.constant(contiguousSpec(rank)), weight: 1 }, { arbitrary: strided, weight: 3 });
}

/** Sizes worth testing: 1 (broadcast-like axes), small primes, and a few others. */
export const sizeArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(1, 2, 3, 5, 7), fc.integer({ min: 1, max: 6 }));

/** A shape of the given rank range whose size stays at most `maxSize`. */
export function shapeArb(minRank: number, maxRank: number, maxSize = 240): fc.Arbitrary<number[]> {
  return fc.array(sizeArb, { minLength: minRank, maxLength: maxRank }).filter((s) => sizeOf(s) <= maxSize);
}

/** How values are drawn: N(center, scale²) per element, from a seed. */
export interface ValueSpec {
  readonly seed: number;
  readonly center: number;
  readonly scale: number;
}

/** Value distributions for kernel-versus-reference checks: moderate centre/scale ratios. */
export const valueSpecArb: fc.Arbitrary<ValueSpec> = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  center: fc.constantFrom(0, 0, 1, -3, 50, 1e3),
  scale: fc.constantFrom(1, 1, 0.1, 10, 1e-2, 1e3),
});

/**
 * `n` values of N(center, scale²), each rounded to float32 so the same numbers load
 * exactly into a float32 or a float64 tensor.
 */
export function drawValues(n: number, spec: ValueSpec): Float64Array {
  const next = normal(spec.seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(spec.center + spec.scale * next());
  return out;
}

/** `n` values of N(center, scale²) in float64 (not rounded), for float64-only magnitudes. */
export function drawValues64(n: number, spec: ValueSpec): Float64Array {
  const next = normal(spec.seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = spec.center + spec.scale * next();
  return out;
}

/** A float dtype. */
export const dtypeArb: fc.Arbitrary<Dtype> = fc.constantFrom('float32', 'float64');
