// tensor() on nested arrays, toArray(), the float32 default of every tensor helper, and the
// messages that name the helper converting a plain array.
import { describe, expect, it } from 'vitest';
import { thrown } from '../test/thrown.js';
import { meanCenter } from '../test/fixtures/mean-center.js';
import { Layer } from './layer.js';
import { toArray } from './nested.js';
import { DEFAULT_DTYPE, assertTensor, dtypeOf, fromArray, full, ones, tensor, zeros } from './tensor.js';

describe('tensor(nested arrays)', () => {
  it('reads the shape from the nesting and copies the values, row-major', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.stride).toEqual([3, 1]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.get(1, 0)).toBe(4);
    expect(tensor([[[1], [2]], [[3], [4]]]).shape).toEqual([2, 2, 1]);
    expect(tensor(7).shape).toEqual([]);
    expect(tensor(7).get()).toBe(7);
    expect(tensor([]).shape).toEqual([0]);
  });

  it('is float32 by default (rounded once) and float64 on request (exact)', () => {
    expect(dtypeOf(tensor([0.1]))).toBe('float32');
    expect(tensor([0.1]).data[0]).toBe(Math.fround(0.1));
    expect(dtypeOf(tensor([0.1], 'float64'))).toBe('float64');
    expect(tensor([0.1], 'float64').data[0]).toBe(0.1);
  });

  it('still wraps a typed array with no copy', () => {
    const data = new Float64Array([1, 2, 3, 4]);
    const t = tensor(data, [2, 2]);
    expect(t.data).toBe(data);
    expect(t.get(1, 1)).toBe(4);
  });

  it('refuses ragged arrays (E_SHAPE) and non-numbers (E_DTYPE), naming the entry', () => {
    const ragged = thrown(() => tensor([[1, 2], [3]]));
    expect(ragged.code).toBe('E_SHAPE');
    expect(ragged.message).toBe('values[1]: expected 2 entries like its first sibling (ragged nested array), got 1');
    expect(thrown(() => tensor([[1, 2], 3] as never)).code).toBe('E_SHAPE');
    expect(thrown(() => tensor([[1], [[2]]] as never)).code).toBe('E_SHAPE');
    const text = thrown(() => tensor([1, '2'] as never));
    expect(text.code).toBe('E_DTYPE');
    expect(text.message).toBe('values[1]: expected a number, got "2"');
    expect(thrown(() => tensor(new Int32Array([1, 2]) as never)).message).toContain('fromArray(Array.from(values), shape, dtype)');
    expect(thrown(() => tensor([1, 2], [2] as never)).code).toBe('E_OPTION');
  });
});

describe('toArray', () => {
  it('inverts tensor() for every rank', () => {
    for (const nested of [5, [1, 2, 3], [[1, 2], [3, 4]], [[[1], [2]], [[3], [4]]]]) {
      expect(toArray(tensor(nested, 'float64'))).toEqual(nested);
    }
  });

  it('reads any view: transposed, picked, stepped, offset', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(toArray(t.transpose(1, 0))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(toArray(t.pick(1, null))).toEqual([4, 5, 6]);
    expect(toArray(t.pick(null, 2))).toEqual([3, 6]);
    expect(toArray(t.step(1, -1))).toEqual([
      [3, 2, 1],
      [6, 5, 4],
    ]);
    expect(toArray(t.lo(1, 1))).toEqual([[5, 6]]);
  });
});

describe('one default dtype: float32, for tensors and layers alike', () => {
  it('zeros, ones, full, fromArray and tensor default to float32, as layers do', () => {
    expect(DEFAULT_DTYPE).toBe('float32');
    for (const t of [zeros([2]), ones([2]), full([2]), fromArray([1, 2]), fromArray([1, 2], [2, 1]), tensor([1, 2])]) {
      expect(dtypeOf(t)).toBe('float32');
    }
    expect(new Layer(meanCenter, { numFeatures: 2 }).dtype).toBe(DEFAULT_DTYPE);
  });

  it('fromArray(values, dtype) is the 1-d shorthand', () => {
    const t = fromArray([1, 2, 3], 'float64');
    expect(t.shape).toEqual([3]);
    expect(dtypeOf(t)).toBe('float64');
    expect(thrown(() => fromArray([1], 'float16' as never)).code).toBe('E_OPTION');
  });

  it('a tensor and a layer made with defaults work together', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 });
    const y = layer.forward(tensor([
      [1, 2],
      [3, 4],
    ]));
    expect(toArray(y)).toEqual([
      [-1, -1],
      [1, 1],
    ]);
  });
});

describe('a plain array where a tensor is expected', () => {
  it('names the helper that converts it', () => {
    const plain = thrown(() => assertTensor([1, 2, 3], 'x'));
    expect(plain.code).toBe('E_DTYPE');
    expect(plain.message).toContain('got an array of length 3');
    expect(plain.message).toContain('tensor(values)');
    expect(plain.message).toContain('fromArray(values, shape)');
    expect(thrown(() => assertTensor(new Float32Array(3), 'x')).message).toContain('tensor(data, shape)');
    expect(thrown(() => assertTensor({ data: [1], shape: [1], stride: [1], offset: 0 }, 'x')).message).toContain('fromArray(Array.from(values), shape)');
  });

  it('reaches the user through a layer', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 });
    const e = thrown(() => layer.forward([[1, 2]] as never));
    expect(e.code).toBe('E_DTYPE');
    expect(e.message).toMatch(/^x: expected an ndarray over a Float32Array or Float64Array, got an array of length 1; convert plain numbers with tensor\(values\)/);
  });
});
