import { describe, expect, it } from 'vitest';
import { f32Bytes, f64Bytes, i64Bytes } from '../test/safetensors-bytes.js';
import { HOST_IS_LITTLE_ENDIAN } from './byte-order.js';
import { decodeElements } from './safetensors-decode.js';
import { encodeElements } from './safetensors-encode.js';

// The little-endian-host path copies bytes; the other goes through DataView with explicit
// little-endian access, as a big-endian host must. Both must give the file's values.
const VALUES = [0, -0, 1, -2.5, 0.1, 1e-310, 3.4e38, -1e300, Infinity, -Infinity];
const PATHS = [true, false];

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
}

describe('byte order', () => {
  it('this host is little-endian (as every platform Node runs on is); the DataView path is tested below either way', () => {
    expect(typeof HOST_IS_LITTLE_ENDIAN).toBe('boolean');
    expect(new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f).toBe(HOST_IS_LITTLE_ENDIAN);
  });

  for (const littleEndianHost of PATHS) {
    const path = littleEndianHost ? 'byte-copy path' : 'DataView path';

    it(`${path}: decodes little-endian F64 and F32 at an unaligned offset`, () => {
      const f32 = Float32Array.from(VALUES);
      for (const [dtype, bytes, expected] of [
        ['F64', f64Bytes(VALUES), VALUES],
        ['F32', f32Bytes(Array.from(f32)), Array.from(f32)],
      ] as const) {
        const file = Uint8Array.from([7, 7, 7, ...bytes]); // 3 leading bytes: misaligned
        const out = decodeElements(file, 3, VALUES.length, dtype, 'x', littleEndianHost);
        expect(out).toBeInstanceOf(dtype === 'F64' ? Float64Array : Float32Array);
        expect(same(out, expected), dtype).toBe(true);
      }
    });

    it(`${path}: encodes F64, F32 and I64 little-endian at an offset`, () => {
      const out64 = new Uint8Array(1 + 8 * VALUES.length);
      encodeElements(Float64Array.from(VALUES), 'F64', out64, 1, littleEndianHost);
      expect(Array.from(out64.subarray(1))).toEqual(f64Bytes(VALUES));
      const out32 = new Uint8Array(2 + 4 * VALUES.length);
      encodeElements(Float32Array.from(VALUES), 'F32', out32, 2, littleEndianHost);
      expect(Array.from(out32.subarray(2))).toEqual(f32Bytes(Array.from(Float32Array.from(VALUES))));
      const ints = [0, 1, -1, 2 ** 53, -(2 ** 53), 4294967296, -4294967297];
      const outI = new Uint8Array(8 * ints.length);
      encodeElements(Float64Array.from(ints), 'I64', outI, 0, littleEndianHost);
      expect(Array.from(outI)).toEqual(i64Bytes(ints.map(BigInt)));
    });

    it(`${path}: keeps the NaN of an F32/F64 round trip a NaN`, () => {
      const out = new Uint8Array(8);
      encodeElements(Float64Array.from([NaN]), 'F64', out, 0, littleEndianHost);
      expect(decodeElements(out, 0, 1, 'F64', 'x', littleEndianHost)[0]).toBeNaN();
    });
  }

  it('decodes I64 exactly through ±2^53 and refuses the next integers out', () => {
    const ok = [0n, -1n, 2n ** 53n, -(2n ** 53n), 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 32n, -(2n ** 32n) - 1n];
    expect(Array.from(decodeElements(Uint8Array.from(i64Bytes(ok)), 0, ok.length, 'I64', 'x'))).toEqual(ok.map(Number));
    for (const bad of [2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 54n]) {
      expect(() => decodeElements(Uint8Array.from(i64Bytes([bad])), 0, 1, 'I64', 'x'), String(bad)).toThrow(/beyond ±2\^53/);
    }
  });
});
