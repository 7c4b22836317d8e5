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
  isContiguous,
  normalizeAxis,
  ones,
  rowMajorStrides,
  tensor,
  toContiguous,
  toTypedArray,
  zeros,
} from './tensor.js';

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
