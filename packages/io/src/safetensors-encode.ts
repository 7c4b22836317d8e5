import type { FloatArray } from '@normkit/core';
import { HOST_IS_LITTLE_ENDIAN } from './byte-order.js';

const TWO_POW_32 = 4294967296;

/** The dtypes {@link encodeElements} writes. */
export type WritableSafetensorsDtype = 'F64' | 'F32' | 'I64';

/**
 * Writes values little-endian into `out` at byte `at`: `F64` and `F32` as the bits of
 * `values` (whose typed array must be of that width), `I64` as two's-complement 64-bit
 * integers (the caller has checked that every value is an integer within ±2^53).
 *
 * @param values - the values in row-major order
 * @param dtype - the stored dtype
 * @param out - the file being written
 * @param at - the index in `out` of the first byte
 * @param littleEndianHost - whether typed arrays are little-endian here (tests pass `false`
 *   to run the `DataView` path)
 */
export function encodeElements(
  values: FloatArray,
  dtype: WritableSafetensorsDtype,
  out: Uint8Array,
  at: number,
  littleEndianHost: boolean = HOST_IS_LITTLE_ENDIAN,
): void {
  const count = values.length;
  if (dtype !== 'I64' && littleEndianHost) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, out.length - at);
  if (dtype === 'F64') {
    for (let i = 0; i < count; i++) view.setFloat64(8 * i, values[i], true);
  } else if (dtype === 'F32') {
    for (let i = 0; i < count; i++) view.setFloat32(4 * i, values[i], true);
  } else {
    for (let i = 0; i < count; i++) {
      const value = values[i];
      const high = Math.floor(value / TWO_POW_32);
      view.setUint32(8 * i, value - high * TWO_POW_32, true);
      view.setInt32(8 * i + 4, high, true);
    }
  }
}
