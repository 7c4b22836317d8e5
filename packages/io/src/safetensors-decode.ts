import type { FloatArray } from '@normkit/core';
import { HOST_IS_LITTLE_ENDIAN } from './byte-order.js';
import { formatError } from './format-error.js';
import { bfloat16BitsToNumber, float16BitsToNumber } from './half.js';
import type { SafetensorsDtype } from './safetensors-dtype.js';

const TWO_POW_32 = 4294967296;
const INT64_HIGH_LIMIT = 0x200000; // 2^21: |value| ≤ 2^53 ⇔ −2^21 ≤ high < 2^21, or value = 2^53

/**
 * Decodes `count` little-endian elements of a safetensors dtype into a new typed array:
 * `F64` and `I64` into a `Float64Array`, `F32`, `F16` and `BF16` into a `Float32Array`.
 * Values are exact; an `I64` beyond ±2^53 (not exact in float64) is refused.
 *
 * @param bytes - the file
 * @param start - the index in `bytes` of the first element's first byte
 * @param count - the number of elements
 * @param dtype - the stored dtype
 * @param name - the tensor's name, for messages
 * @param littleEndianHost - whether typed arrays are little-endian here (tests pass `false`
 *   to run the `DataView` path)
 * @returns the values in file (row-major) order, in a new buffer
 * @throws NormkitError `E_FORMAT` for an `I64` value beyond ±2^53
 */
export function decodeElements(
  bytes: Uint8Array,
  start: number,
  count: number,
  dtype: SafetensorsDtype,
  name: string,
  littleEndianHost: boolean = HOST_IS_LITTLE_ENDIAN,
): FloatArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, bytes.length - start);
  switch (dtype) {
    case 'F64': {
      if (littleEndianHost) return new Float64Array(copyBytes(bytes, start, 8 * count));
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F32': {
      if (littleEndianHost) return new Float32Array(copyBytes(bytes, start, 4 * count));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'I64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const low = view.getUint32(8 * i, true);
        const high = view.getInt32(8 * i + 4, true);
        if (high < -INT64_HIGH_LIMIT || high > INT64_HIGH_LIMIT || (high === INT64_HIGH_LIMIT && low !== 0)) {
          const value = view.getBigInt64(8 * i, true);
          throw formatError(`bytes: ${JSON.stringify(name)}[${i}] = ${value} (I64) is beyond ±2^53, not exact in float64`, 'bytes');
        }
        out[i] = high * TWO_POW_32 + low;
      }
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = float16BitsToNumber(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = bfloat16BitsToNumber(view.getUint16(2 * i, true));
      return out;
    }
  }
}

/**
 * A copy of `length` bytes from `start` in a new, aligned buffer. (Not `bytes.slice`: a
 * Node `Buffer`'s `slice` is a view into its shared pool, not a copy.)
 */
function copyBytes(bytes: Uint8Array, start: number, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(start, start + length));
  return copy.buffer;
}
