import { NormkitError, fromArray } from '@normkit/core';
import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { f32Bytes, i64Bytes, safetensorsFile, u16Bytes, u64, utf8 } from '../test/safetensors-bytes.js';
import { readSafetensors } from './read-safetensors.js';
import { MAX_SAFETENSORS_ENTRIES, MAX_SAFETENSORS_METADATA_ENTRIES } from './safetensors-header.js';
import { writeSafetensors } from './write-safetensors.js';

/** The E_FORMAT message readSafetensors throws for `bytes` (fails the test on anything else). */
function refusal(bytes: unknown): string {
  try {
    readSafetensors(bytes as Uint8Array);
  } catch (e) {
    expect(e).toBeInstanceOf(NormkitError);
    expect((e as NormkitError).code).toBe('E_FORMAT');
    expect((e as NormkitError).argument).toBe('bytes');
    return (e as NormkitError).message;
  }
  throw new Error('readSafetensors returned instead of throwing');
}

/** The code of the NormkitError writeSafetensors throws. */
function writeCode(...args: unknown[]): string {
  try {
    (writeSafetensors as (...a: unknown[]) => unknown)(...args);
  } catch (e) {
    if (e instanceof NormkitError) return e.code;
    return `not a NormkitError: ${String(e)}`;
  }
  return 'returned';
}

const F32_PAIR = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
const TWO_FLOATS = f32Bytes([1, 2]);

function entry(name: string, dtype: string, shape: unknown, offsets: unknown): string {
  return `${JSON.stringify(name)}:{"dtype":${JSON.stringify(dtype)},"shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;
}

describe('readSafetensors refuses bad input with E_FORMAT', () => {
  it('the baseline file of these cases is valid', () => {
    expect(Array.from(readSafetensors(safetensorsFile(F32_PAIR, TWO_FLOATS)).tensors.a.data)).toEqual([1, 2]);
  });

  it('something that is not bytes', () => {
    expect(refusal('a string')).toMatch(/expected a Uint8Array or an ArrayBuffer, got "a string"/);
    expect(refusal([8, 0, 0, 0, 0, 0, 0, 0])).toMatch(/expected a Uint8Array/);
    expect(refusal(null)).toMatch(/got null/);
  });

  it('fewer than 8 bytes', () => {
    expect(refusal(new Uint8Array(0))).toMatch(/8-byte header length, got 0 bytes/);
    expect(refusal(new Uint8Array(7))).toMatch(/got 7 bytes/);
  });

  it('a header length beyond the file', () => {
    expect(refusal(safetensorsFile(F32_PAIR, TWO_FLOATS, { declaredLength: 1000 }))).toMatch(/header length 1000 runs past the end of the file \(\d+ bytes\)/);
    expect(refusal(Uint8Array.from(u64(1)))).toMatch(/header length 1 runs past the end of the file \(8 bytes\)/);
    // At the 100 MB limit itself the length is allowed, and only the file is too short.
    expect(refusal(Uint8Array.from(u64(100_000_000)))).toMatch(/header length 100000000 runs past the end/);
  });

  it('a header over 100 MB (in the low or the high 32 bits of the length)', () => {
    expect(refusal(Uint8Array.from(u64(100_000_001)))).toMatch(/header length 100000001 exceeds the 100000000-byte limit/);
    expect(refusal(Uint8Array.from(u64(2n ** 32n)))).toMatch(/header length 4294967296 exceeds/);
    expect(refusal(Uint8Array.from(u64(2n ** 64n - 1n)))).toMatch(/header length 18446744073709551615 exceeds/);
  });

  it('more entries than MAX_SAFETENSORS_ENTRIES (a 100 MB header of empty tensors would take a reader seconds and gigabytes)', () => {
    // Refused on the count, before any entry is read (so the entries need not be valid here);
    // __metadata__ does not count as a tensor.
    const many = (n: number) => Array.from({ length: n }, (_, i) => `"t${i}":0`).join(',');
    expect(refusal(safetensorsFile(`{"__metadata__":{"k":"v"},${many(MAX_SAFETENSORS_ENTRIES)}}`))).toMatch(/header\["t0"\]: expected \{dtype, shape, data_offsets\}/);
    // One member too many for the byte scan (which cannot tell __metadata__ apart before parsing).
    expect(refusal(safetensorsFile(`{"__metadata__":{"k":"v"},${many(MAX_SAFETENSORS_ENTRIES + 1)}}`))).toMatch(
      new RegExp(`the header lists more than ${MAX_SAFETENSORS_ENTRIES} tensors, the most a reader accepts`),
    );
    // Exactly one tensor too many and no __metadata__: counted after parsing.
    expect(refusal(safetensorsFile(`{${many(MAX_SAFETENSORS_ENTRIES + 1)}}`))).toMatch(
      new RegExp(`the header lists ${MAX_SAFETENSORS_ENTRIES + 1} tensors, more than the ${MAX_SAFETENSORS_ENTRIES} a reader accepts`),
    );
  }, 60_000); // a guard against hangs, not a speed assertion

  it('bounds the header on its bytes before decoding and parsing: members, metadata, nesting, list lengths', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `"t${i}":0`).join(',');
    // Too many members, then bytes that are neither UTF-8 nor JSON: refused on the count.
    const tooMany = utf8(`{${many(MAX_SAFETENSORS_ENTRIES + 2)},`);
    expect(refusal(Uint8Array.from([...u64(tooMany.length + 1), ...tooMany, 0xff]))).toMatch(/the header lists more than \d+ tensors/);
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}":"v"`).join(',');
    const a = entry('a', 'F32', [2], [0, 8]);
    // __metadata__: up to MAX_SAFETENSORS_METADATA_ENTRIES entries (a 6M-key one took 13 s and 1.6 GB to parse).
    expect(Object.keys(readSafetensors(safetensorsFile(`{"__metadata__":{${keys(MAX_SAFETENSORS_METADATA_ENTRIES)}},${a}}`, TWO_FLOATS)).metadata)).toHaveLength(MAX_SAFETENSORS_METADATA_ENTRIES);
    expect(refusal(safetensorsFile(`{"__metadata__":{${keys(MAX_SAFETENSORS_METADATA_ENTRIES + 1)}},${a}}`, TWO_FLOATS))).toBe(
      `bytes: the header's __metadata__ holds more than ${MAX_SAFETENSORS_METADATA_ENTRIES} entries, the most a reader accepts`,
    );
    // A key spelt with escapes is decoded: \u005f_metadata__ is __metadata__, with its own limit.
    const escapedMetadata = readSafetensors(safetensorsFile(`{"\\u005f_metadata__":{${keys(20)}},${a}}`, TWO_FLOATS));
    expect(Object.keys(escapedMetadata.metadata)).toHaveLength(20);
    // An entry: up to 16 fields reach the parse (and its precise message), more are refused here.
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `"f${i}":0`).join(',');
    expect(refusal(safetensorsFile(`{"a":{${fields(16)}}}`))).toMatch(/unexpected field "f0"/);
    expect(refusal(safetensorsFile(`{"a":{${fields(17)}}}`))).toBe('bytes: a header entry holds more than 16 fields; expected only dtype, shape, data_offsets');
    expect(refusal(safetensorsFile(`{"\\u0061":{${fields(17)}}}`))).toMatch(/more than 16 fields/);
    // Lists: up to 1,024 values reach the parse; more are refused here.
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', new Array(1024).fill(1), [0, 4])}}`, f32Bytes([1])))).toMatch(/expected at most 64 axes, got 1024/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', new Array(1025).fill(1), [0, 4])}}`, f32Bytes([1])))).toBe(
      'bytes: the header holds a list of more than 1024 values (a shape has at most 64 axes)',
    );
    // Nesting deeper than header → entry → shape.
    expect(refusal(safetensorsFile('{"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}}', TWO_FLOATS))).toBe(
      'bytes: the header nests values deeper than a safetensors header does (header, entry, shape)',
    );
  }, 60_000); // a guard against hangs, not a speed assertion

  it('the byte scan skips strings with their escapes: names and metadata full of quotes, commas and brackets read', () => {
    // In JSON each \" is an escaped quote: a scan that ended strings there would count the
    // commas as members (600,000 of them, past every limit) and refuse the file.
    const noise = '","[{'.repeat(150_000);
    const name = `w${noise}`;
    const metadata = { [`k${noise}`]: noise, plain: noise };
    const read = readSafetensors(writeSafetensors({ [name]: fromArray([1, 2], [2], 'float32') }, metadata));
    expect(Object.keys(read.tensors)).toEqual([name]);
    expect(Array.from(read.tensors[name].data)).toEqual([1, 2]);
    expect(read.metadata).toEqual(metadata);
  }, 60_000); // a guard against hangs, not a speed assertion

  it('random valid files read back whole: names, shapes and metadata with every character the scan treats specially', () => {
    const alphabet = ['a', 'Z', '0', '"', '\\', ',', ':', '{', '}', '[', ']', ' ', '\n', '\u00e9', '\u{1F600}', '_'];
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const word = () => Array.from({ length: 1 + next(12) }, () => alphabet[next(alphabet.length)]).join('');
    for (let trial = 0; trial < 200; trial++) {
      const tensors: Record<string, ReturnType<typeof fromArray>> = {};
      const count = 1 + next(5);
      for (let t = 0; t < count; t++) {
        const shape = Array.from({ length: next(4) }, () => 1 + next(3));
        const size = shape.reduce((p, d) => p * d, 1);
        tensors[`${word()}${t}`] = fromArray(Array.from({ length: size }, (_, i) => i), shape, 'float32');
      }
      const metadata: Record<string, string> = {};
      for (let m = next(4); m > 0; m--) metadata[word()] = word();
      const read = readSafetensors(writeSafetensors(tensors, metadata));
      expect(Object.keys(read.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const [key, t] of Object.entries(tensors)) expect(read.tensors[key].shape).toEqual(t.shape);
      expect(read.metadata).toEqual(metadata);
    }
  });

  it('offsets and sizes beyond 2^53 − 1 are named as too large', () => {
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [2], [0, 2 ** 53])}}`, TWO_FLOATS))).toMatch(/data_offsets: expected offsets of at most 2\^53 − 1, got \[0, 9007199254740992\]/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [2 ** 53], [0, 8])}}`, TWO_FLOATS))).toMatch(/shape: expected sizes of at most 2\^53 − 1/);
  });

  it('a header that is not valid UTF-8', () => {
    const header = utf8('{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}');
    for (const bad of [[0xff], [0xc0, 0xaf] /* overlong "/" */, [0xed, 0xa0, 0x80] /* encoded surrogate */, [0xe2, 0x82] /* truncated */]) {
      const bytes = Uint8Array.from([...u64(header.length + bad.length), ...header.subarray(0, 2), ...bad, ...header.subarray(2)]);
      expect(refusal(bytes), String(bad)).toMatch(/header is not valid UTF-8/);
    }
  });

  it('a header that is not JSON, or not a JSON object', () => {
    expect(refusal(safetensorsFile('{"a":'))).toMatch(/not valid JSON/);
    expect(refusal(safetensorsFile('{"a":1}}'))).toMatch(/not valid JSON/);
    expect(refusal(safetensorsFile('[1, 2]'))).toMatch(/must be a JSON object starting with "\{", got byte 0x5b/);
    expect(refusal(safetensorsFile('"text"'))).toMatch(/starting with "\{"/);
    expect(refusal(safetensorsFile(' {}'))).toMatch(/starting with "\{", got byte 0x20/);
    expect(refusal(Uint8Array.from(u64(0)))).toMatch(/got an empty header/);
  });

  it('a repeated key, anywhere in the header (JSON.parse would keep the last)', () => {
    const a = entry('a', 'F32', [1], [0, 4]);
    const a2 = entry('a', 'F32', [1], [4, 8]);
    expect(refusal(safetensorsFile(`{${a},${a2}}`, TWO_FLOATS))).toMatch(/repeats the key "a"/);
    const escaped = entry('\\u0061', 'F32', [1], [4, 8]).replace('"\\\\u0061"', '"\\u0061"');
    expect(escaped.startsWith('"\\u0061"')).toBe(true);
    expect(refusal(safetensorsFile(`{${a},${escaped}}`, TWO_FLOATS))).toMatch(/repeats the key "a"/);
    expect(refusal(safetensorsFile('{"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}', TWO_FLOATS))).toMatch(/repeats the key "dtype"/);
    expect(refusal(safetensorsFile(`{"__metadata__":{"k":"1","k":"2"},${a.replace('[0,4]', '[0,8]').replace('[1]', '[2]')}}`, TWO_FLOATS))).toMatch(/repeats the key "k"/);
    expect(refusal(safetensorsFile(`{"__metadata__":{},"__metadata__":{},${entry('a', 'F32', [2], [0, 8])}}`, TWO_FLOATS))).toMatch(/repeats the key "__metadata__"/);
  });

  it('metadata that is not an object of strings', () => {
    const a = entry('a', 'F32', [2], [0, 8]);
    expect(refusal(safetensorsFile(`{"__metadata__":{"epoch":3},${a}}`, TWO_FLOATS))).toMatch(/__metadata__\["epoch"\]: expected a string, got 3/);
    expect(refusal(safetensorsFile(`{"__metadata__":{"k":null},${a}}`, TWO_FLOATS))).toMatch(/__metadata__\["k"\]: expected a string, got null/);
    expect(refusal(safetensorsFile(`{"__metadata__":{"k":{"x":"y"}},${a}}`, TWO_FLOATS))).toMatch(/expected a string, got an object/);
    expect(refusal(safetensorsFile(`{"__metadata__":["pt"],${a}}`, TWO_FLOATS))).toMatch(/__metadata__: expected an object of strings, got an array/);
    expect(refusal(safetensorsFile(`{"__metadata__":"pt",${a}}`, TWO_FLOATS))).toMatch(/__metadata__: expected an object of strings, got "pt"/);
    expect(refusal(safetensorsFile(`{"__metadata__":{"k":"\\ud800"},${a}}`, TWO_FLOATS))).toMatch(/lone surrogate/);
    // null is the reference reader's "no metadata".
    expect(readSafetensors(safetensorsFile(`{"__metadata__":null,${a}}`, TWO_FLOATS)).metadata).toEqual({});
  });

  it('an entry that is not {dtype, shape, data_offsets}', () => {
    expect(refusal(safetensorsFile('{"a":[1,2]}'))).toMatch(/header\["a"\]: expected \{dtype, shape, data_offsets\}, got an array/);
    expect(refusal(safetensorsFile('{"a":"F32"}'))).toMatch(/got "F32"/);
    expect(refusal(safetensorsFile('{"a":{"dtype":"F32","shape":[2]}}', TWO_FLOATS))).toMatch(/missing field data_offsets/);
    expect(refusal(safetensorsFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"offsets":[0,8]}}', TWO_FLOATS))).toMatch(/unexpected field "offsets"/);
    expect(refusal(safetensorsFile('{"\\udc00":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', TWO_FLOATS))).toMatch(/name holds a lone surrogate/);
  });

  it('unknown or unsupported dtypes', () => {
    expect(refusal(safetensorsFile(`{${entry('a', 'F128', [2], [0, 8])}}`, TWO_FLOATS))).toMatch(/unknown dtype "F128"; expected one of F64, F32, I64, F16, BF16/);
    expect(refusal(safetensorsFile(`{${entry('a', 'f32', [2], [0, 8])}}`, TWO_FLOATS))).toMatch(/unknown dtype "f32"/);
    expect(refusal(safetensorsFile('{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}', TWO_FLOATS))).toMatch(/unknown dtype 4/);
    expect(refusal(safetensorsFile(`{${entry('a', 'I32', [2], [0, 8])}}`, TWO_FLOATS))).toMatch(/dtype I32 is not supported; normkit reads F64, F32, I64, F16, BF16/);
    expect(refusal(safetensorsFile(`{${entry('a', 'BOOL', [8], [0, 8])}}`, TWO_FLOATS))).toMatch(/dtype BOOL is not supported/);
  });

  it('a shape that is not a list of non-negative integers (or too large to count)', () => {
    for (const shape of [[1.5], [-2], ['2'], [null], 2, null, {}]) {
      expect(refusal(safetensorsFile(`{${entry('a', 'F32', shape, [0, 8])}}`, TWO_FLOATS)), JSON.stringify(shape)).toMatch(
        /\.shape: expected a list of non-negative integers/,
      );
    }
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [2 ** 53], [0, 8])}}`, TWO_FLOATS))).toMatch(/expected sizes of at most 2\^53 − 1, got \[9007199254740992\]/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [2 ** 30, 2 ** 30, 2 ** 30, 0], [0, 0])}}`))).toMatch(/expected at most 2\^53 − 1 elements/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', new Array(65).fill(1), [0, 4])}}`, f32Bytes([1])))).toMatch(/expected at most 64 axes, got 65/);
  });

  it('data_offsets that are not [begin, end] with 0 ≤ begin ≤ end', () => {
    for (const offsets of [[0], [0, 8, 9], [8, 0], [-8, 0], [0, 8.5], ['0', '8'], null, { begin: 0, end: 8 }]) {
      expect(refusal(safetensorsFile(`{${entry('a', 'F32', [2], offsets)}}`, TWO_FLOATS)), JSON.stringify(offsets)).toMatch(
        /\.data_offsets: expected \[begin, end\] with 0 ≤ begin ≤ end/,
      );
    }
  });

  it('a byte range that does not match dtype × shape', () => {
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [3], [0, 8])}}`, TWO_FLOATS))).toMatch(/F32 of shape \[3\] needs 12 bytes, data_offsets \[0, 8\] span 8/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F64', [2], [0, 8])}}`, TWO_FLOATS))).toMatch(/F64 of shape \[2\] needs 16 bytes/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F16', [], [0, 4])}}`, TWO_FLOATS.slice(0, 4)))).toMatch(/F16 of shape \[\] needs 2 bytes/);
  });

  it('offsets out of range: past the data buffer, or leaving bytes at its end', () => {
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [4], [0, 16])}}`, TWO_FLOATS))).toMatch(/the tensors cover 16 data bytes, but the file holds 8 after the header/);
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [1], [0, 4])}}`, TWO_FLOATS))).toMatch(/cover 4 data bytes, but the file holds 8/);
    expect(refusal(safetensorsFile('{}', [0]))).toMatch(/cover 0 data bytes, but the file holds 1/);
  });

  it('offsets that do not start at 0', () => {
    expect(refusal(safetensorsFile(`{${entry('a', 'F32', [1], [4, 8])}}`, TWO_FLOATS))).toMatch(/header\["a"\]\.data_offsets \[4, 8\] are not contiguous: the data buffer starts at 0/);
  });

  it('overlapping offsets', () => {
    const header = `{${entry('a', 'F32', [2], [0, 8])},${entry('b', 'F32', [2], [4, 12])}}`;
    expect(refusal(safetensorsFile(header, f32Bytes([1, 2, 3])))).toMatch(/header\["b"\]\.data_offsets \[4, 12\] overlap "a", which ends at 8/);
    // An empty tensor inside another one's range overlaps too.
    const inside = `{${entry('a', 'F32', [2], [0, 8])},${entry('e', 'F32', [0], [4, 4])}}`;
    expect(refusal(safetensorsFile(inside, TWO_FLOATS))).toMatch(/header\["e"\]\.data_offsets \[4, 4\] overlap "a"/);
    // The same range twice.
    const twice = `{${entry('a', 'F32', [2], [0, 8])},${entry('b', 'F32', [2], [0, 8])}}`;
    expect(refusal(safetensorsFile(twice, TWO_FLOATS))).toMatch(/overlap "a", which ends at 8/);
  });

  it('offsets that are not contiguous', () => {
    const header = `{${entry('a', 'F32', [1], [0, 4])},${entry('b', 'F32', [1], [8, 12])}}`;
    expect(refusal(safetensorsFile(header, f32Bytes([1, 2, 3])))).toMatch(/header\["b"\]\.data_offsets \[8, 12\] are not contiguous: "a" ends at 4/);
  });

  it('accepts offsets in any header order, and empty tensors at a boundary', () => {
    const header = `{${entry('b', 'F32', [1], [4, 8])},${entry('e', 'F64', [0, 3], [4, 4])},${entry('a', 'F32', [1], [0, 4])}}`;
    const { tensors } = readSafetensors(safetensorsFile(header, TWO_FLOATS));
    expect(Object.keys(tensors)).toEqual(['a', 'e', 'b']); // offset order
    expect([tensors.a.get(0), tensors.b.get(0), tensors.e.shape]).toEqual([1, 2, [0, 3]]);
  });

  it('an I64 value beyond ±2^53 (not exact in float64)', () => {
    const header = `{${entry('n', 'I64', [2], [0, 16])}}`;
    expect(refusal(safetensorsFile(header, i64Bytes([1, 2n ** 53n + 1n])))).toMatch(/"n"\[1\] = 9007199254740993 \(I64\) is beyond ±2\^53/);
    expect(refusal(safetensorsFile(header, i64Bytes([-(2n ** 63n), 0])))).toMatch(/"n"\[0\] = -9223372036854775808/);
  });

  it('returns nothing and leaves the input as it was when it throws', () => {
    const bytes = safetensorsFile(`{${entry('ok', 'F16', [2], [0, 4])},${entry('n', 'I64', [], [4, 12])}}`, [...u16Bytes([0x3c00, 0x4000]), ...i64Bytes([2n ** 60n])]);
    const before = Array.from(bytes);
    let result: unknown = 'untouched';
    expect(() => {
      result = readSafetensors(bytes);
    }).toThrow(NormkitError);
    expect(result).toBe('untouched');
    expect(Array.from(bytes)).toEqual(before);
  });
});

describe('writeSafetensors refuses bad arguments with a NormkitError', () => {
  const x = fromArray([1, 2], [2], 'float32');

  it('tensors that are not an object of float tensors whose strides fit their buffer', () => {
    expect(writeCode(null)).toBe('E_STATE');
    expect(writeCode([x])).toBe('E_STATE');
    expect(writeCode({ a: [1, 2] })).toBe('E_DTYPE');
    expect(writeCode({ a: ndarray(new Int32Array(2), [2]) })).toBe('E_DTYPE');
    expect(writeCode({ a: ndarray(new Float32Array(2), [3]) })).toBe('E_SHAPE');
  });

  it('a name safetensors cannot hold', () => {
    expect(writeCode({ __metadata__: x })).toBe('E_STATE');
    expect(writeCode({ '\ud800': x })).toBe('E_STATE');
  });

  it('metadata that is not an object of strings', () => {
    expect(writeCode({ x }, null)).toBe('E_OPTION');
    expect(writeCode({ x }, ['pt'])).toBe('E_OPTION');
    expect(writeCode({ x }, { epoch: 3 })).toBe('E_OPTION');
    expect(writeCode({ x }, { k: '\udfff' })).toBe('E_OPTION');
    expect(writeCode({ x }, {})).toBe('returned');
  });

  it('an int64 option that is not a list of entry names', () => {
    expect(writeCode({ x }, undefined, null)).toBe('E_OPTION');
    expect(writeCode({ x }, undefined, { int64: 'x' })).toBe('E_OPTION');
    expect(writeCode({ x }, undefined, { int64: [1] })).toBe('E_OPTION');
    expect(writeCode({ x }, undefined, { int64: ['y'] })).toBe('E_OPTION');
    expect(writeCode({ x }, undefined, { int64: ['x'] })).toBe('returned');
  });

  it('an int64 entry holding a non-integer or a value beyond ±2^53', () => {
    for (const bad of [0.5, NaN, Infinity, 2 ** 53 + 2, -(2 ** 54)]) {
      expect(writeCode({ n: fromArray([1, bad], [2], 'float64') }, undefined, { int64: ['n'] }), String(bad)).toBe('E_DTYPE');
    }
    expect(writeCode({ n: fromArray([2 ** 53, -(2 ** 53)], [2], 'float64') }, undefined, { int64: ['n'] })).toBe('returned');
  });
});
