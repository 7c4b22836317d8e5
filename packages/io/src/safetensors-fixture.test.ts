import { fromArray } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from './read-safetensors.js';
import { writeSafetensors } from './write-safetensors.js';

// A tiny file written byte by byte from the published layout: one F32 tensor of shape
// [1, 2] holding 1.5 and -2, and one I64 scalar holding 1234567 (PyTorch's
// num_batches_tracked), with metadata {"format": "pt"}.
const HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
  '"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]}}';

function fixture(): Uint8Array {
  // 163 characters of ASCII → 163 bytes, padded with 5 spaces (0x20) to 168, a multiple of 8.
  const headerBytes = [...Array.from(HEADER, (c) => c.charCodeAt(0)), 0x20, 0x20, 0x20, 0x20, 0x20];
  const length = [168, 0, 0, 0, 0, 0, 0, 0]; // 168 as u64 little-endian
  const int64 = [0x87, 0xd6, 0x12, 0, 0, 0, 0, 0]; // 1234567 = 0x12d687, little-endian
  const onePointFive = [0x00, 0x00, 0xc0, 0x3f]; // 1.5f = 0x3fc00000
  const minusTwo = [0x00, 0x00, 0x00, 0xc0]; // -2f = 0xc0000000
  return Uint8Array.from([...length, ...headerBytes, ...int64, ...onePointFive, ...minusTwo]);
}

describe('safetensors: a file written by hand from the published layout', () => {
  it('has the length the spec gives (8 + padded header + 16 data bytes)', () => {
    expect(HEADER.length).toBe(163);
    expect(fixture().length).toBe(8 + 168 + 16);
  });

  it('reads back its tensors, dtypes and metadata', () => {
    const { tensors, metadata, dtypes } = readSafetensors(fixture());
    expect(Object.keys(tensors)).toEqual(['num_batches_tracked', 'weight']);
    expect(tensors.weight.shape).toEqual([1, 2]);
    expect(tensors.weight.data).toBeInstanceOf(Float32Array);
    expect(Array.from(tensors.weight.data)).toEqual([1.5, -2]);
    expect(tensors.weight.get(0, 1)).toBe(-2);
    expect(tensors.num_batches_tracked.shape).toEqual([]);
    expect(tensors.num_batches_tracked.data).toBeInstanceOf(Float64Array);
    expect(tensors.num_batches_tracked.get()).toBe(1234567);
    expect(metadata).toEqual({ format: 'pt' });
    expect(dtypes).toEqual({ num_batches_tracked: 'I64', weight: 'F32' });
  });

  it('is exactly what writeSafetensors writes for the same tensors (the reference layout: I64 before F32)', () => {
    const bytes = writeSafetensors(
      { weight: fromArray([1.5, -2], [1, 2], 'float32'), num_batches_tracked: fromArray([1234567], [], 'float64') },
      { format: 'pt' },
      { int64: ['num_batches_tracked'] },
    );
    expect(Array.from(bytes)).toEqual(Array.from(fixture()));
  });

  it('reads a file from the Buffer or ArrayBuffer it came in, at any byte offset', () => {
    const inner = fixture();
    const framed = new Uint8Array(inner.length + 3);
    framed.set(inner, 3);
    const view = framed.subarray(3); // byteOffset 3: data not aligned for typed arrays
    expect(Array.from(readSafetensors(view).tensors.weight.data)).toEqual([1.5, -2]);
    expect(Array.from(readSafetensors(Buffer.from(inner)).tensors.weight.data)).toEqual([1.5, -2]);
    expect(readSafetensors(inner.slice().buffer).tensors.num_batches_tracked.get()).toBe(1234567);
  });

  it('pads the header with spaces to a multiple of 8 bytes', () => {
    // {"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]}} is 53 bytes → 56 with 3 spaces.
    const bytes = writeSafetensors({ a: fromArray([0.25], [], 'float64') });
    expect(Array.from(bytes.subarray(0, 8))).toEqual([56, 0, 0, 0, 0, 0, 0, 0]);
    const header = new TextDecoder().decode(bytes.subarray(8, 64));
    expect(header).toBe('{"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}   ');
    expect(Array.from(bytes.subarray(64))).toEqual([0, 0, 0, 0, 0, 0, 0xd0, 0x3f]); // 0.25 = 0x3fd0000000000000
  });

  it('writes no tensors and no metadata as the 8-byte header "{}" plus six spaces', () => {
    expect(Array.from(writeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
    expect(readSafetensors(writeSafetensors({}))).toEqual({ tensors: {}, metadata: {}, dtypes: {} });
  });
});
