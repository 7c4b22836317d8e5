// Builders of safetensors files by hand, from the published layout, for the tests: no code
// shared with the package. Not shipped (outside src/).
import type { Tensor } from '@normkit/core';

/** ASCII/UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** n as 8 little-endian bytes (an unsigned 64-bit integer; n may be a bigint). */
export function u64(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** The header text padded with spaces to a multiple of 8 bytes, as the reference writer pads it. */
export function paddedHeader(json: string): Uint8Array {
  const bytes = utf8(json);
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8).fill(0x20);
  padded.set(bytes);
  return padded;
}

/**
 * A file: 8-byte length, header bytes (padded unless `pad` is false), then data bytes.
 * `declaredLength` overrides the length field.
 */
export function safetensorsFile(
  json: string,
  data: ArrayLike<number> = [],
  { pad = true, declaredLength }: { pad?: boolean; declaredLength?: number | bigint } = {},
): Uint8Array {
  const header = pad ? paddedHeader(json) : utf8(json);
  const out = new Uint8Array(8 + header.length + data.length);
  out.set(u64(declaredLength ?? header.length), 0);
  out.set(header, 8);
  out.set(Array.from(data), 8 + header.length);
  return out;
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: readonly number[]): number[] {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return Array.from(new Uint8Array(view.buffer));
}

/** Little-endian bytes of float64 values. */
export function f64Bytes(values: readonly number[]): number[] {
  const view = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((v, i) => view.setFloat64(8 * i, v, true));
  return Array.from(new Uint8Array(view.buffer));
}

/** Little-endian two's-complement bytes of 64-bit integers. */
export function i64Bytes(values: readonly (number | bigint)[]): number[] {
  const view = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return Array.from(new Uint8Array(view.buffer));
}

/** Little-endian bytes of 16-bit patterns. */
export function u16Bytes(bits: readonly number[]): number[] {
  return bits.flatMap((b) => [b & 0xff, b >> 8]);
}

/** Row-major values of a tensor, read one by one with `.get` (any strides, any rank). */
export function valuesOf(t: Tensor): number[] {
  const shape = t.shape;
  const size = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    let rest = flat;
    for (let k = shape.length - 1; k >= 0; k--) {
      index[k] = rest % shape[k];
      rest = Math.floor(rest / shape[k]);
    }
    out.push(t.get(...index));
  }
  return out;
}
