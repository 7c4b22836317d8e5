import { NormkitError, dtypeOf, fromArray, sizeOf, zeros } from '@normkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safetensorsFile, u16Bytes } from '../test/safetensors-bytes.js';
import { readSafetensors } from './read-safetensors.js';
import type { SafetensorsContents } from './read-safetensors.js';
import { writeSafetensors } from './write-safetensors.js';

// Seeded: a failure reproduces with the same seed and shows the shrunk input.
const SEED = 20240917;

/** Valid files to mutate: every dtype, metadata, 0-d and empty tensors. */
const SEEDS: Uint8Array[] = [
  writeSafetensors({}),
  writeSafetensors(
    { w: fromArray([1, -2, 0.5], [3], 'float32'), v: fromArray([0.25, NaN], [2, 1], 'float64'), n: fromArray([7], [], 'float64'), e: zeros([0, 2], 'float64') },
    { format: 'pt', note: 'µ' },
    { int64: ['n'] },
  ),
  safetensorsFile(
    '{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]},"i":{"dtype":"I64","shape":[],"data_offsets":[6,14]}}',
    [...u16Bytes([0x3c00, 0x7c00, 0x3f80]), 5, 0, 0, 0, 0, 0, 0, 0],
  ),
];

/**
 * Reads `bytes`: whatever comes must be a NormkitError with E_FORMAT (no TypeError,
 * RangeError or other crash), and whatever is returned must be well-formed tensors that
 * write back and read again to the same values.
 */
function readsCleanly(bytes: Uint8Array): boolean {
  let contents: SafetensorsContents;
  try {
    contents = readSafetensors(bytes);
  } catch (e) {
    if (e instanceof NormkitError && e.code === 'E_FORMAT') return true;
    throw e;
  }
  const { tensors, dtypes, metadata } = contents;
  expect(Object.keys(dtypes).sort()).toEqual(Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    expect(t.data.length).toBe(sizeOf(t.shape));
    expect(dtypeOf(t)).toBe(dtypes[name] === 'F64' || dtypes[name] === 'I64' ? 'float64' : 'float32');
  }
  const int64 = Object.keys(dtypes).filter((name) => dtypes[name] === 'I64');
  const again = readSafetensors(writeSafetensors(tensors, metadata, { int64 }));
  expect(again.metadata).toEqual(metadata);
  for (const [name, t] of Object.entries(tensors)) {
    const a = Array.from(t.data);
    const b = Array.from(again.tensors[name].data);
    expect(a.every((v, i) => Object.is(v, b[i]))).toBe(true);
  }
  return true;
}

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'length'; delta: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('length' as const), delta: fc.integer({ min: -16, max: 16 }) }),
);

function mutate(source: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Array.from(source);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.kind === 'length' ? 0 : m.at % (bytes.length + 1);
    if (m.kind === 'set' && at < bytes.length) bytes[at] = m.value;
    else if (m.kind === 'flip' && at < bytes.length) bytes[at] ^= 1 << m.bit;
    else if (m.kind === 'truncate') bytes = bytes.slice(0, at);
    else if (m.kind === 'insert') bytes.splice(at, 0, ...m.bytes);
    else if (m.kind === 'delete') bytes.splice(at, m.count);
    else if (m.kind === 'length' && bytes.length >= 8) {
      const n = new DataView(Uint8Array.from(bytes).buffer).getUint32(0, true) + m.delta;
      const le = new DataView(new ArrayBuffer(4));
      le.setUint32(0, Math.max(0, n), true);
      bytes.splice(0, 4, ...new Uint8Array(le.buffer));
    }
  }
  return Uint8Array.from(bytes);
}

/** Headers built from plausible pieces, so runs reach the entry and offset checks. */
const plausibleHeader: fc.Arbitrary<{ json: string; data: Uint8Array }> = fc
  .record({
    entries: fc.array(
      fc.record({
        name: fc.constantFrom('a', 'b', 'c', '__metadata__', ''),
        dtype: fc.constantFrom('F32', 'F64', 'I64', 'F16', 'BF16', 'I32', 'X', 7),
        shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }), fc.constant([1.5]), fc.constant('2')),
        offsets: fc.oneof(fc.tuple(fc.integer({ min: -1, max: 40 }), fc.integer({ min: -1, max: 40 })), fc.array(fc.nat(40), { maxLength: 3 })),
      }),
      { maxLength: 4 },
    ),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string({ maxLength: 3 }), fc.integer())), { nil: undefined }),
    data: fc.uint8Array({ maxLength: 48 }),
  })
  .map(({ entries, metadata, data }) => {
    const parts = entries.map(
      (e) => `${JSON.stringify(e.name)}:${JSON.stringify({ dtype: e.dtype, shape: e.shape, data_offsets: e.offsets })}`,
    );
    if (metadata !== undefined) parts.unshift(`"__metadata__":${JSON.stringify(metadata)}`);
    return { json: `{${parts.join(',')}}`, data };
  });

describe('readSafetensors under fuzzing: only E_FORMAT errors, never a crash', () => {
  it('the seed files are valid', () => {
    for (const bytes of SEEDS) expect(readsCleanly(bytes)).toBe(true);
    expect(Object.keys(readSafetensors(SEEDS[2]).tensors)).toEqual(['h', 'b', 'i']);
  });

  it('random byte arrays', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), readsCleanly), { seed: SEED, numRuns: 1000 });
  });

  it('random bytes behind a plausible header length', () => {
    const framed = fc.tuple(fc.integer({ min: 0, max: 80 }), fc.uint8Array({ maxLength: 96 })).map(([n, rest]) => Uint8Array.from([n, 0, 0, 0, 0, 0, 0, 0, ...rest]));
    fc.assert(fc.property(framed, readsCleanly), { seed: SEED + 1, numRuns: 1000 });
  });

  it('valid files with bytes set, flipped, inserted, deleted, truncated and the length changed', () => {
    const mutated = fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([seed, ms]) => mutate(seed, ms));
    fc.assert(fc.property(mutated, readsCleanly), { seed: SEED + 2, numRuns: 2000 });
  });

  it('headers of plausible entries with random shapes, dtypes, offsets and metadata', () => {
    let valid = 0;
    const file = plausibleHeader.map(({ json, data }) => safetensorsFile(json, data));
    fc.assert(
      fc.property(file, (bytes) => {
        readsCleanly(bytes);
        try {
          readSafetensors(bytes);
          valid++;
        } catch {
          // counted only when valid
        }
        return true;
      }),
      { seed: SEED + 3, numRuns: 1500 },
    );
    // The generator reaches files that pass every check, not only refusals.
    expect(valid).toBeGreaterThan(0);
  });

  it('random JSON values as the header', () => {
    const file = fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 16 })).map(([v, data]) => safetensorsFile(JSON.stringify(v) ?? 'null', data));
    fc.assert(fc.property(file, readsCleanly), { seed: SEED + 4, numRuns: 500 });
  });
});
