import type { Tensor } from '@normkit/core';
import { dtypeOf, fromArray, zeros } from '@normkit/core';
import { randn } from '@normkit/testkit';
import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { valuesOf } from '../test/safetensors-bytes.js';
import { readSafetensors } from './read-safetensors.js';
import { writeSafetensors } from './write-safetensors.js';

/** Values compared with Object.is, so NaN equals NaN and -0 differs from 0. */
function sameValues(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

function roundTrip(tensors: Record<string, Tensor>, metadata?: Record<string, string>) {
  return readSafetensors(writeSafetensors(tensors, metadata));
}

const SPECIAL64 = [0, -0, 1, -1, 0.1, 1 / 3, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, NaN, Infinity, -Infinity];
const SPECIAL32 = [0, -0, 1, -1, Math.fround(0.1), 3.4028234663852886e38, 2 ** -149, 2 ** -126, NaN, Infinity, -Infinity];

describe('safetensors round trip (write then read)', () => {
  it('keeps float64 and float32 values bit for bit, with their dtypes and shapes', () => {
    const tensors = {
      w64: randn([3, 4], 1, 'float64'),
      w32: randn([2, 3, 5], 2, 'float32'),
      special64: fromArray(SPECIAL64, [SPECIAL64.length], 'float64'),
      special32: fromArray(SPECIAL32, [SPECIAL32.length], 'float32'),
    };
    const back = roundTrip(tensors);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const r = back.tensors[name];
      expect(dtypeOf(r), name).toBe(dtypeOf(t));
      expect(r.shape, name).toEqual(t.shape);
      expect(sameValues(valuesOf(r), valuesOf(t)), name).toBe(true);
    }
    expect(back.dtypes).toEqual({ w64: 'F64', w32: 'F32', special64: 'F64', special32: 'F32' });
  });

  it('keeps 0-d tensors (shape []) and empty tensors (an axis of size 0)', () => {
    const back = roundTrip({
      scalar64: fromArray([-2.5], [], 'float64'),
      scalar32: fromArray([7], [], 'float32'),
      empty: zeros([0], 'float32'),
      emptyMiddle: zeros([2, 0, 3], 'float64'),
    });
    expect(back.tensors.scalar64.shape).toEqual([]);
    expect(back.tensors.scalar64.get()).toBe(-2.5);
    expect(back.tensors.scalar32.get()).toBe(7);
    expect(back.tensors.scalar32.data).toBeInstanceOf(Float32Array);
    expect(back.tensors.empty.shape).toEqual([0]);
    expect(back.tensors.empty.data).toBeInstanceOf(Float32Array);
    expect(back.tensors.emptyMiddle.shape).toEqual([2, 0, 3]);
    expect(back.tensors.emptyMiddle.data.length).toBe(0);
  });

  it('writes row-major copies of transposed, stepped, reversed and offset views', () => {
    const base64 = randn([4, 6], 3, 'float64');
    const base32 = randn([5, 4, 3], 4, 'float32');
    const views: Record<string, Tensor> = {
      transposed: base64.transpose(1, 0),
      stepped: base64.step(2, 3),
      reversed: base32.step(-1, 1, -1),
      offset: base64.lo(1, 2).hi(2, 3),
      picked: base32.pick(2, null, null),
      pickedScalar: base64.pick(3, 5),
      sizeOneAxisOddStride: ndarray(new Float64Array([9, 8, 7]), [1, 3], [100, 1], 0),
    };
    const back = roundTrip(views);
    for (const [name, view] of Object.entries(views)) {
      const r = back.tensors[name];
      expect(r.shape, name).toEqual(view.shape);
      expect(r.stride, name).toEqual(rowMajor(view.shape));
      expect(r.offset, name).toBe(0);
      expect(dtypeOf(r), name).toBe(dtypeOf(view));
      expect(valuesOf(r), name).toEqual(valuesOf(view));
    }
    expect(back.tensors.pickedScalar.get()).toBe(base64.get(3, 5));
  });

  it('keeps metadata strings, and reads {} when there is none', () => {
    const metadata = { format: 'pt', empty: '', unicode: 'µ-law ✓ 😀', quote: 'a "b" \\ c\n', ['__proto__']: 'a name like any other' };
    expect(Object.keys(metadata)).toContain('__proto__'); // computed: an own entry, not the prototype
    const back = roundTrip({ x: fromArray([1], [1], 'float64') }, metadata);
    expect(back.metadata).toEqual(metadata);
    expect(Object.getPrototypeOf(back.metadata)).toBe(Object.prototype);
    expect(roundTrip({ x: fromArray([1], [1], 'float64') }).metadata).toEqual({});
    expect(roundTrip({ x: fromArray([1], [1], 'float64') }, {}).metadata).toEqual({});
  });

  it('keeps names that are JSON escapes, non-ASCII or "__proto__" as ordinary entries', () => {
    const names = ['a.b', 'tab\tquote"', 'π', '😀', '__proto__', '', '0'];
    const tensors: Record<string, Tensor> = {};
    names.forEach((name, i) => Object.defineProperty(tensors, name, { value: fromArray([i], [1], 'float64'), enumerable: true }));
    const back = roundTrip(tensors);
    expect(Object.keys(back.tensors).sort()).toEqual([...names].sort());
    names.forEach((name, i) => expect(back.tensors[name].get(0), name).toBe(i));
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
  });

  it('stores int64 entries as I64 and reads them back as float64 integers, up to ±2^53', () => {
    const counts = [0, 1, -1, 123456789012, 2 ** 53, -(2 ** 53), 2 ** 32, -(2 ** 32) - 1];
    const bytes = writeSafetensors(
      { num_batches_tracked: fromArray([12], [], 'float64'), counts: fromArray(counts, [counts.length], 'float64'), small: fromArray([3, -4], [2], 'float32') },
      undefined,
      { int64: ['num_batches_tracked', 'counts', 'small'] },
    );
    const back = readSafetensors(bytes);
    expect(back.dtypes).toEqual({ counts: 'I64', num_batches_tracked: 'I64', small: 'I64' });
    expect(back.tensors.num_batches_tracked.get()).toBe(12);
    expect(back.tensors.num_batches_tracked.data).toBeInstanceOf(Float64Array);
    expect(Array.from(back.tensors.counts.data)).toEqual(counts);
    expect(Array.from(back.tensors.small.data)).toEqual([3, -4]);
    expect(back.tensors.small.data).toBeInstanceOf(Float64Array);
    // Read → write with the stored I64 names → the same bytes.
    const int64 = Object.keys(back.dtypes).filter((name) => back.dtypes[name] === 'I64');
    const again = writeSafetensors({ ...back.tensors, small: fromArray([3, -4], [2], 'float32') }, back.metadata, { int64 });
    expect(Array.from(again)).toEqual(Array.from(bytes));
  });

  it('lays tensors out as the reference writer does: I64, then F64, then F32, each by name in code-point order', () => {
    const one32 = fromArray([1], [1], 'float32');
    const one64 = fromArray([1], [1], 'float64');
    const bytes = writeSafetensors({ '😀': one32, '\uffff': one32, b: one32, a: one32, z64: one64, count: one64, a64: one64 }, undefined, { int64: ['count'] });
    const { entries } = headerOf(bytes);
    // UTF-16 `<` would put '😀' (0xd83d…) before '\uffff'; by code point U+FFFF < U+1F600.
    expect(entries).toEqual([
      ['count', 'I64', [0, 8]],
      ['a64', 'F64', [8, 16]],
      ['z64', 'F64', [16, 24]],
      ['a', 'F32', [24, 28]],
      ['b', 'F32', [28, 32]],
      ['\uffff', 'F32', [32, 36]],
      ['😀', 'F32', [36, 40]],
    ]);
  });

  it('writes the same bytes for the same tensors whatever their insertion order', () => {
    const a = randn([3], 5, 'float32');
    const b = randn([2, 2], 6, 'float64');
    const one = writeSafetensors({ a, b }, { y: '1', x: '2' });
    const other = writeSafetensors({ b, a }, { x: '2', y: '1' });
    expect(Array.from(one)).toEqual(Array.from(other));
    expect(headerOf(one).text.startsWith('{"__metadata__":{"x":"2","y":"1"},')).toBe(true);
  });
});

function rowMajor(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k];
  }
  return strides;
}

function headerOf(bytes: Uint8Array): { text: string; entries: [string, string, number[]][] } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const parsed = JSON.parse(text) as Record<string, { dtype: string; data_offsets: number[] }>;
  // Object.keys would put integer-like names first; the order in the text is what counts.
  const names = Object.keys(parsed).filter((k) => k !== '__metadata__');
  names.sort((x, y) => text.indexOf(JSON.stringify(x) + ':') - text.indexOf(JSON.stringify(y) + ':'));
  return { text, entries: names.map((name) => [name, parsed[name].dtype, parsed[name].data_offsets]) };
}
