import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { NormkitError } from './errors.js';
import {
  assertFinite,
  assertTensor,
  copyInto,
  dtypeOf,
  firstNonFinite,
  fromArray,
  full,
  isContiguous,
  normalizeAxis,
  ones,
  rowMajorStrides,
  tensor,
  toContiguous,
  toDtype,
  toTypedArray,
  zeros,
} from './tensor.js';
import { toArray } from './nested.js';
import { formatTensor } from './format-tensor.js';

/** The NormkitError a call throws (or fails the test). */
function errorOf(fn: () => unknown): NormkitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw new Error(`expected a NormkitError, got ${String(e)}`);
  }
  throw new Error('expected a NormkitError, got none');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof NormkitError ? e.code : 'not a NormkitError';
  }
  return undefined;
}

describe('tensors', () => {
  it('creates row-major tensors of either dtype', () => {
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float32');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.stride).toEqual([3, 1]);
    expect(t.get(1, 2)).toBe(6);
    expect(dtypeOf(zeros([2], 'float64'))).toBe('float64');
    expect(Array.from(ones([3], 'float64').data)).toEqual([1, 1, 1]);
    expect(rowMajorStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(zeros([], 'float64').size).toBe(1);
  });

  it('detects contiguous layouts, and copies strided views in row-major order', () => {
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
    expect(isContiguous(t)).toBe(true);
    expect(isContiguous(t.transpose(1, 0))).toBe(false);
    expect(isContiguous(t.hi(1, 3))).toBe(true);
    expect(isContiguous(t.lo(0, 1))).toBe(false);
    expect(Array.from(toTypedArray(t.transpose(1, 0)))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(toContiguous(t.step(-1, -1)).data)).toEqual([6, 5, 4, 3, 2, 1]);
    const target = zeros([3, 2], 'float64').transpose(1, 0);
    copyInto(t, target);
    expect(Array.from(target.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('rejects non-float data with E_DTYPE and wrong shapes with E_SHAPE, naming the argument', () => {
    expect(codeOf(() => assertTensor([1, 2, 3], 'x'))).toBe('E_DTYPE');
    expect(codeOf(() => assertTensor(ndarray(new Int32Array(4), [4]), 'x'))).toBe('E_DTYPE');
    expect(codeOf(() => assertTensor(ndarray([1, 2, 3, 4], [4]), 'x'))).toBe('E_DTYPE');
    expect(codeOf(() => assertTensor(zeros([2, 3], 'float64'), 'x', { rank: 3 }))).toBe('E_SHAPE');
    expect(codeOf(() => assertTensor(zeros([2, 3], 'float64'), 'x', { minRank: 3 }))).toBe('E_SHAPE');
    expect(codeOf(() => assertTensor(zeros([2, 3], 'float64'), 'x', { shape: [3, 2] }))).toBe('E_SHAPE');
    expect(codeOf(() => assertTensor(zeros([2, 3], 'float64'), 'x', { dtype: 'float32' }))).toBe('E_DTYPE');
    expect(codeOf(() => assertTensor(zeros([0, 3], 'float64'), 'x'))).toBe('E_SHAPE');
    expect(codeOf(() => assertTensor(ndarray(new Float64Array(4), [3, 3]), 'x'))).toBe('E_SHAPE');
    expect(codeOf(() => tensor(new Float64Array(5), [2, 3]))).toBe('E_SHAPE');
    expect(codeOf(() => assertTensor(zeros([2, 3], 'float64'), 'x', { rank: 2, dtype: 'float64' }))).toBeUndefined();
    try {
      assertTensor(zeros([2, 3], 'float64'), 'params.weight', { shape: [4] });
    } catch (e) {
      expect((e as Error).message).toBe('params.weight: expected shape [4], got [2, 3]');
    }
  });

  it('the creators refuse a dtype that is not float32/float64 and a shape that is not an array of sizes (no silent float64, no TypeError)', () => {
    for (const dtype of ['int32', 'float16', null, 42]) {
      for (const make of [() => zeros([2], dtype as never), () => ones([2], dtype as never), () => full([2], dtype as never, 3), () => toDtype(zeros([2]), dtype as never), () => toContiguous(zeros([2]), dtype as never)]) {
        const e = errorOf(make);
        expect(e.code).toBe('E_OPTION');
        expect(e.message).toMatch(/^dtype: expected 'float32' or 'float64', got /);
      }
    }
    expect(errorOf(() => zeros(3 as never)).message).toBe('shape: expected an array of non-negative integer sizes, got 3 (a shape is an array: [3])');
    expect(errorOf(() => zeros([-1])).message).toBe('shape: expected an array of non-negative integer sizes, got [-1]');
    // more elements than a typed array holds: E_SHAPE, not a RangeError (new BatchNorm({ numFeatures: 2 ** 53 - 1 }) threw one)
    const huge = errorOf(() => zeros([Number.MAX_SAFE_INTEGER]));
    expect(huge.code).toBe('E_SHAPE');
    expect(huge.message).toContain('shape: 9007199254740991 elements (shape [9007199254740991]) are more than a float32 typed array can hold');
    expect(errorOf(() => full([1.5], 'float64')).code).toBe('E_SHAPE');
    expect(errorOf(() => fromArray([], [-1])).message).toBe('shape: expected an array of non-negative integer sizes, got [-1]');
    expect(errorOf(() => tensor(new Float64Array(2), [2, NaN])).code).toBe('E_SHAPE');
    // toContiguous without a dtype keeps the tensor's; toDtype to its own dtype returns it.
    const t = zeros([2], 'float64');
    expect(dtypeOf(toContiguous(t))).toBe('float64');
    expect(toDtype(t, 'float64')).toBe(t);
  });

  it('the converters refuse what is not a tensor with E_DTYPE naming t, and accept empty tensors', () => {
    for (const convert of [toArray, formatTensor, toTypedArray, toContiguous, (v: never) => toDtype(v, 'float32')]) {
      for (const value of [null, undefined, {}, [[1, 2]]]) {
        const e = errorOf(() => convert(value as never));
        expect(e.code).toBe('E_DTYPE');
        expect(e.argument).toBe('t');
      }
    }
    expect(toArray(zeros([0, 2]))).toEqual([]);
    expect(toTypedArray(zeros([0], 'float64'))).toEqual(new Float64Array(0));
    expect(formatTensor(zeros([0]))).toBe('tensor([], dtype=float32)');
  });

  it('finds the first non-finite element by multi-index', () => {
    const t = fromArray([1, 2, 3, NaN, 5, Infinity], [2, 3], 'float64');
    expect(firstNonFinite(t)).toEqual([1, 0]);
    expect(firstNonFinite(t.transpose(1, 0))).toEqual([0, 1]);
    expect(firstNonFinite(ones([2, 2], 'float64'))).toBeNull();
    expect(codeOf(() => assertFinite(t, 'x'))).toBe('E_NONFINITE');
  });

  it('normalizes negative axes and rejects out-of-range ones with E_OPTION', () => {
    expect(normalizeAxis(-1, 4, 'channelAxis')).toBe(3);
    expect(normalizeAxis(1, 4, 'channelAxis')).toBe(1);
    expect(codeOf(() => normalizeAxis(4, 4, 'channelAxis'))).toBe('E_OPTION');
    expect(codeOf(() => normalizeAxis(1.5, 4, 'channelAxis'))).toBe('E_OPTION');
  });
});

describe('assertTensorMap', () => {
  it('accepts exactly the expected names and shapes', async () => {
    const { assertTensorMap } = await import('./tensor-map.js');
    const ok = assertTensorMap({ weight: zeros([3], 'float64'), bias: zeros([3], 'float64') }, { weight: [3], bias: [3] }, 'params');
    expect(Object.keys(ok)).toEqual(['weight', 'bias']);
    expect(assertTensorMap({}, {}, 'state')).toEqual({});
    expect(codeOf(() => assertTensorMap({ weight: zeros([3], 'float64') }, { weight: [3], bias: [3] }, 'params'))).toBe('E_STATE');
    expect(codeOf(() => assertTensorMap({ weight: zeros([3], 'float64'), extra: zeros([3], 'float64') }, { weight: [3] }, 'params'))).toBe('E_STATE');
    expect(codeOf(() => assertTensorMap({ weight: zeros([4], 'float64') }, { weight: [3] }, 'params'))).toBe('E_SHAPE');
    expect(codeOf(() => assertTensorMap({ weight: [0, 0, 0] }, { weight: [3] }, 'params'))).toBe('E_DTYPE');
    expect(codeOf(() => assertTensorMap(null, { weight: [3] }, 'params'))).toBe('E_STATE');
    expect(codeOf(() => assertTensorMap(JSON.parse('{"__proto__": 1}'), {}, 'params'))).toBe('E_STATE');
  });
});
