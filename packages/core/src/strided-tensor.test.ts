import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { describe, expect, it } from 'vitest';
import { StridedTensor, stridedView } from './strided-tensor.js';
import { fromArray, full, ones, rowMajorStrides, tensor, zeros } from './tensor.js';

/** Every element of a view, in row-major order of its indices, through `get`. */
function valuesOf(t: NdArray<Float32Array | Float64Array>): number[] {
  const out: number[] = [];
  const rank = t.shape.length;
  const size = t.shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < size; i++) {
    out.push(t.get(...index));
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < t.shape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

/** The members normkit and users read, side by side. */
function describeView(t: NdArray<Float32Array | Float64Array>) {
  return { shape: [...t.shape], stride: [...t.stride], offset: t.offset, size: t.size, dimension: t.dimension, dtype: t.dtype, order: [...t.order], values: valuesOf(t) };
}

function both(shape: number[], dtype: 'float32' | 'float64' = 'float64'): [StridedTensor, NdArray<Float32Array | Float64Array>] {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size + 5 }, (_, i) => i * 1.5 - 7);
  const data = dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  return [stridedView(data, shape, rowMajorStrides(shape), 2), ndarray(data, shape, rowMajorStrides(shape), 2)];
}

describe('StridedTensor: the ndarray surface without code generation', () => {
  // [3, 1, 1] and [1, 3, 3] have equal strides in 3-d, where ndarray breaks ties its own way.
  const shapes = [[5], [3, 4], [2, 3, 4], [3, 1, 1], [1, 3, 3], [2, 3, 2, 3], [2, 1, 3, 2, 2]];

  it.each(shapes)('matches the ndarray package member by member for shape %j (both dtypes)', (...shape) => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [ours, theirs] = both(shape, dtype);
      expect(describeView(ours)).toEqual(describeView(theirs));
      const index = shape.map((n) => n - 1);
      expect(ours.index(...index)).toBe(theirs.index(...index));
    }
  });

  it.each(shapes)('lo, hi, step (positive and negative), transpose and pick give the same views as ndarray for shape %j', (...shape) => {
    const [ours, theirs] = both(shape);
    const rank = shape.length;
    const lo = shape.map((n) => (n > 1 ? 1 : 0));
    const hi = shape.map((n) => Math.max(1, n - 1));
    const step = shape.map((_, k) => (k % 2 === 0 ? -1 : 2));
    const perm = shape.map((_, k) => rank - 1 - k);
    const pick = shape.map((_, k) => (k === 0 ? 1 : null));
    expect(describeView(ours.lo(...lo))).toEqual(describeView(theirs.lo(...lo)));
    expect(describeView(ours.hi(...hi))).toEqual(describeView(theirs.hi(...hi)));
    expect(describeView(ours.step(...step))).toEqual(describeView(theirs.step(...step)));
    expect(describeView(ours.transpose(...perm))).toEqual(describeView(theirs.transpose(...perm)));
    expect(describeView(ours.pick(...pick))).toEqual(describeView(theirs.pick(...pick)));
    // Chained, as the reliability suite makes its views.
    const chain = (t: NdArray<Float32Array | Float64Array>) => t.lo(...lo).hi(...hi.map((n) => Math.max(1, n - 1))).step(...step).transpose(...perm);
    expect(describeView(chain(ours))).toEqual(describeView(chain(theirs)));
    expect(ours.lo(...lo)).toBeInstanceOf(StridedTensor);
  });

  it('fractional arguments are truncated as ndarray truncates them (pick lands on an integer position)', () => {
    const [ours, theirs] = both([3, 4]);
    expect(describeView(ours.pick(1.7, null))).toEqual(describeView(theirs.pick(1.7, null)));
    expect(describeView(ours.pick(null, 2.5))).toEqual(describeView(theirs.pick(null, 2.5)));
    expect(Number.isInteger(ours.pick(1.7, null).offset)).toBe(true);
    // Positions past 2^31 (longer typed arrays are allowed) do not wrap around as | 0 would.
    const long = new StridedTensor(new Float64Array(4), [2 ** 31 + 2], [1], 0);
    expect(long.pick(2 ** 31 + 1).offset).toBe(2 ** 31 + 1);
    expect(describeView(ours.lo(0.5, 1.5))).toEqual(describeView(theirs.lo(0.5, 1.5)));
    expect(describeView(ours.hi(2.9, 3.2))).toEqual(describeView(theirs.hi(2.9, 3.2)));
    expect(describeView(ours.step(1.5, -2.5))).toEqual(describeView(theirs.step(1.5, -2.5)));
    expect(describeView(ours.transpose(1.2, 0.9))).toEqual(describeView(theirs.transpose(1.2, 0.9)));
  });

  it('set writes through the strides and returns the value, as ndarray does', () => {
    const [ours, theirs] = both([3, 4]);
    const t1 = ours.transpose(1, 0);
    const t2 = theirs.transpose(1, 0);
    expect(t1.set(2, 1, 42.5)).toBe(t2.set(2, 1, 42.5));
    expect(ours.get(1, 2)).toBe(42.5);
    expect(Array.from(ours.data)).toEqual(Array.from(theirs.data));
  });

  it('0-d views: one element at the offset', () => {
    const t = stridedView(new Float64Array([7, 8, 9]), [], [], 1);
    expect(t.size).toBe(1);
    expect(t.dimension).toBe(0);
    expect(t.get()).toBe(8);
    t.set(3);
    expect(t.data[1]).toBe(3);
    const picked = stridedView(new Float64Array([1, 2, 3]), [3]).pick(2);
    expect(picked.dimension).toBe(0);
    expect(picked.get()).toBe(3);
  });

  it("stridedView fills in ndarray()'s defaults: row-major strides, and an offset at the far end of negative strides", () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5]);
    expect(describeView(stridedView(data, [2, 3]))).toEqual(describeView(ndarray(data, [2, 3])));
    expect(describeView(stridedView(data, [2, 3], [-3, -1]))).toEqual(describeView(ndarray(data, [2, 3], [-3, -1])));
    expect(stridedView(data, [2, 3], [-3, -1]).offset).toBe(5);
    expect(describeView(stridedView(data))).toEqual(describeView(ndarray(data)));
  });

  it('T reverses the axes', () => {
    const t = stridedView(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(t.T.shape).toEqual([3, 2]);
    expect(valuesOf(t.T)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('every tensor helper returns one, with shape, strides, offset 0 and the dtype asked for', () => {
    for (const t of [tensor([[1, 2], [3, 4]]), fromArray([1, 2, 3], 'float64'), zeros([2, 2]), ones([3]), full([1, 2], 'float64', 5), tensor(new Float64Array(4), [2, 2])]) {
      expect(t).toBeInstanceOf(StridedTensor);
      expect(t.offset).toBe(0);
      expect(t.stride).toEqual(rowMajorStrides(t.shape));
    }
    expect(zeros([2], 'float64').dtype).toBe('float64');
    expect(tensor([1, 2]).dtype).toBe('float32');
  });

  it('serializes like an ndarray view: data, shape, stride and offset are its only own fields', () => {
    const t = fromArray([1, 2], [2], 'float64');
    expect(Object.keys(t).sort()).toEqual(['data', 'offset', 'shape', 'stride']);
  });
});
