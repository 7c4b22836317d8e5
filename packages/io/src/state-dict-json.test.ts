import { BatchNorm } from '@normkit/batch-norm';
import type { Tensor } from '@normkit/core';
import { NormkitError, dtypeOf, fromArray, zeros } from '@normkit/core';
import { randn } from '@normkit/testkit';
import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { valuesOf } from '../test/safetensors-bytes.js';
import { stateDictFromJSON } from './state-dict-from-json.js';
import { STATE_DICT_JSON_FORMAT, STATE_DICT_JSON_VERSION } from './state-dict-json-format.js';
import { stateDictToJSON } from './state-dict-to-json.js';

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

function expectSameTensors(back: Record<string, Tensor>, sd: Record<string, Tensor>): void {
  expect(Object.keys(back)).toEqual(Object.keys(sd));
  for (const [name, t] of Object.entries(sd)) {
    expect(dtypeOf(back[name]), name).toBe(dtypeOf(t));
    expect(back[name].shape, name).toEqual(t.shape);
    expect(same(valuesOf(back[name]), valuesOf(t)), name).toBe(true);
  }
}

/** The E_FORMAT message stateDictFromJSON throws for `text`. */
function refusal(text: unknown): string {
  try {
    stateDictFromJSON(text as string);
  } catch (e) {
    expect(e).toBeInstanceOf(NormkitError);
    expect((e as NormkitError).code).toBe('E_FORMAT');
    return (e as NormkitError).message;
  }
  throw new Error('stateDictFromJSON returned instead of throwing');
}

function doc(tensors: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: STATE_DICT_JSON_FORMAT, version: STATE_DICT_JSON_VERSION, tensors, ...extra });
}

describe('JSON state dict: writing', () => {
  it('writes the documented format, one entry per line, exact and short', () => {
    const text = stateDictToJSON({
      weight: fromArray([1, 0.1, -0], [3], 'float32'),
      numBatchesTracked: fromArray([12], [], 'float64'),
      odd: fromArray([NaN, Infinity, -Infinity, 0.1], [2, 2], 'float64'),
    });
    expect(text).toBe(
      [
        '{',
        '  "format": "normkit.state-dict",',
        '  "version": 1,',
        '  "tensors": {',
        '    "weight": {"dtype": "float32", "shape": [3], "data": [1, 0.1, -0]},',
        '    "numBatchesTracked": {"dtype": "float64", "shape": [], "data": [12]},',
        '    "odd": {"dtype": "float64", "shape": [2, 2], "data": ["NaN", "Infinity", "-Infinity", 0.1]}',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    expect(stateDictToJSON({})).toBe('{\n  "format": "normkit.state-dict",\n  "version": 1,\n  "tensors": {}\n}\n');
  });

  it('writes row-major values of strided views', () => {
    const base = fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
    const text = stateDictToJSON({ t: base.transpose(1, 0), r: base.step(-1, 2) });
    const parsed = JSON.parse(text) as { tensors: Record<string, { shape: number[]; data: number[] }> };
    expect(parsed.tensors.t).toEqual({ dtype: 'float64', shape: [3, 2], data: [1, 4, 2, 5, 3, 6] });
    expect(parsed.tensors.r).toEqual({ dtype: 'float64', shape: [2, 2], data: [4, 6, 1, 3] });
  });

  it('refuses what is not an object of float tensors', () => {
    const code = (sd: unknown) => {
      try {
        stateDictToJSON(sd as Record<string, Tensor>);
        return 'returned';
      } catch (e) {
        return e instanceof NormkitError ? e.code : String(e);
      }
    };
    expect(code(null)).toBe('E_STATE');
    expect(code([fromArray([1], 'float64')])).toBe('E_STATE');
    expect(code({ a: { data: { 0: 1 }, shape: [1], stride: [1], offset: 0 } })).toBe('E_DTYPE');
    expect(code({ a: ndarray(new Float64Array(2), [3]) })).toBe('E_SHAPE');
  });
});

describe('JSON state dict: round trip', () => {
  it('gives back identical values, dtypes and shapes (float32, float64, specials, 0-d, empty, strided, offset)', () => {
    const base = randn([4, 5], 11, 'float64');
    const sd: Record<string, Tensor> = {
      w32: randn([3, 4], 12, 'float32'),
      w64: fromArray(Array.from({ length: 20 }, (_, i) => Math.sin(i + 1) / 7), [4, 5], 'float64'),
      special64: fromArray([0, -0, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1 / 3, NaN, Infinity, -Infinity, 2 ** 53 + 2], [10], 'float64'),
      special32: fromArray([0, -0, 2 ** -149, 3.4028234663852886e38, Math.fround(1 / 3), NaN, -Infinity], [7], 'float32'),
      scalar: fromArray([-1.25], [], 'float64'),
      empty: zeros([2, 0], 'float32'),
      strided: base.step(2, -1),
      offset: base.lo(1, 1).hi(2, 3),
    };
    expectSameTensors(stateDictFromJSON(stateDictToJSON(sd)), sd);
  });

  it('keeps odd names ("__proto__", escapes, non-ASCII, empty) as ordinary entries, in order', () => {
    const sd: Record<string, Tensor> = {};
    for (const [i, name] of ['b', '__proto__', 'quote"\\', 'π😀', '', 'a'].entries()) {
      Object.defineProperty(sd, name, { value: fromArray([i], [1], 'float64'), enumerable: true });
    }
    const back = stateDictFromJSON(stateDictToJSON(sd));
    expectSameTensors(back, sd);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('is what JSON.stringify(layer.stateDict()) could not be: a batch-norm layer loads it back', () => {
    const bn = new BatchNorm({ numFeatures: 3 });
    bn.forward(randn([4, 3], 13, 'float32'));
    bn.forward(randn([4, 3], 14, 'float32'));
    const sd = bn.stateDict();
    expect(() => new BatchNorm({ numFeatures: 3 }).loadStateDict(JSON.parse(JSON.stringify(sd)) as Record<string, Tensor>)).toThrow(NormkitError);
    const restored = new BatchNorm({ numFeatures: 3 });
    restored.loadStateDict(stateDictFromJSON(stateDictToJSON(sd)));
    expectSameTensors(restored.stateDict(), sd);
    expect(restored.stateDict().numBatchesTracked.get()).toBe(2);
  });
});

describe('JSON state dict: reading refuses bad input with E_FORMAT', () => {
  const entry = { dtype: 'float64', shape: [2], data: [1, 2] };

  it('the baseline document of these cases is valid', () => {
    expect(Array.from(stateDictFromJSON(doc({ a: entry })).a.data)).toEqual([1, 2]);
  });

  it('a leading UTF-8 byte order mark is skipped (some editors write one, and readFileSync keeps it)', () => {
    expect(Array.from(stateDictFromJSON(`\uFEFF${doc({ a: entry })}`).a.data)).toEqual([1, 2]);
    expect(refusal(`\uFEFF\uFEFF${doc({ a: entry })}`)).toMatch(/not valid JSON/);
  });

  it('text that is not a string, not JSON or not an object', () => {
    expect(refusal(42)).toMatch(/text: expected a string, got 42/);
    expect(refusal('{"format":')).toMatch(/not valid JSON/);
    expect(refusal('')).toMatch(/not valid JSON/);
    expect(refusal('[1]')).toMatch(/expected a JSON object, got an array/);
    expect(refusal('null')).toMatch(/expected a JSON object, got null/);
  });

  it('a missing or wrong format marker or version, or an unknown field', () => {
    expect(refusal(JSON.stringify({ version: 1, tensors: {} }))).toMatch(/missing field format/);
    expect(refusal(doc({}, { format: 'safetensors' }))).toMatch(/text\.format: expected "normkit\.state-dict", got "safetensors"/);
    expect(refusal(doc({}, { version: 2 }))).toMatch(/text\.version: expected 1 \(the version this reader knows\), got 2/);
    expect(refusal(doc({}, { version: '1' }))).toMatch(/got "1"/);
    expect(refusal(doc({}, { comment: 'hi' }))).toMatch(/unexpected field "comment"; expected only format, version, tensors/);
    expect(refusal(doc([entry]))).toMatch(/text\.tensors: expected an object of entries, got an array/);
  });

  it('a repeated key (JSON.parse would keep the last)', () => {
    expect(refusal(`{"format":"${STATE_DICT_JSON_FORMAT}","version":1,"tensors":{"a":${JSON.stringify(entry)},"a":${JSON.stringify(entry)}}}`)).toMatch(/repeats the key "a"/);
    expect(refusal(`{"format":"${STATE_DICT_JSON_FORMAT}","version":1,"version":1,"tensors":{}}`)).toMatch(/repeats the key "version"/);
  });

  it('an entry that is not {dtype, shape, data}', () => {
    expect(refusal(doc({ a: [1, 2] }))).toMatch(/tensors\["a"\]: expected \{dtype, shape, data\}, got an array/);
    expect(refusal(doc({ a: { dtype: 'float64', shape: [2] } }))).toMatch(/missing field data/);
    expect(refusal(doc({ a: { ...entry, stride: [1] } }))).toMatch(/unexpected field "stride"/);
    expect(refusal(doc({ a: { ...entry, dtype: 'int64' } }))).toMatch(/\.dtype: expected "float32" or "float64", got "int64"/);
  });

  it('a shape that is not a list of non-negative integers', () => {
    for (const shape of [[-1], [1.5], ['2'], 2, null]) {
      expect(refusal(doc({ a: { ...entry, shape } })), JSON.stringify(shape)).toMatch(/\.shape: expected a list of non-negative integers/);
    }
    expect(refusal(doc({ a: { ...entry, shape: new Array(65).fill(1), data: [1] } }))).toMatch(/at most 64 axes/);
  });

  it('data that does not fit the shape, or holds something other than numbers and the three strings', () => {
    expect(refusal(doc({ a: { ...entry, data: [1, 2, 3] } }))).toMatch(/\.data: shape \[2\] needs a list of 2 values, got 3/);
    expect(refusal(doc({ a: { ...entry, shape: [], data: [] } }))).toMatch(/shape \[\] needs a list of 1 values, got 0/);
    expect(refusal(doc({ a: { ...entry, data: { 0: 1, 1: 2 } } }))).toMatch(/needs a list of 2 values, got an object/);
    expect(refusal(doc({ a: { ...entry, data: [1, null] } }))).toMatch(/\.data\[1\]: expected a finite number or "NaN", "Infinity", "-Infinity", got null/);
    expect(refusal(doc({ a: { ...entry, data: [1, 'nan'] } }))).toMatch(/data\[1\].*got "nan"/);
    expect(refusal(doc({ a: { ...entry, data: [[1], 2] } }))).toMatch(/data\[0\].*got an array/);
    // 1e400 parses to Infinity: a literal that overflows is not how infinity is written.
    expect(refusal(`{"format":"${STATE_DICT_JSON_FORMAT}","version":1,"tensors":{"a":{"dtype":"float64","shape":[1],"data":[1e400]}}}`)).toMatch(/data\[0\].*got Infinity/);
  });

  it('a float32 value beyond the float32 range (it would round to Infinity)', () => {
    expect(refusal(doc({ a: { dtype: 'float32', shape: [1], data: [1e39] } }))).toMatch(/data\[0\]: 1e\+39 is beyond the float32 range/);
    // The largest float32 and values that round down to it are fine.
    expect(stateDictFromJSON(doc({ a: { dtype: 'float32', shape: [2], data: [3.4028235e38, 3.4028235677973362e38] } })).a.get(1)).toBe(3.4028234663852886e38);
  });
});
