import { describeValue } from '@normkit/core';
import { findDuplicateKey } from './duplicate-keys.js';
import { formatError } from './format-error.js';
import { setOwnEntry } from './own-entries.js';
import type { SafetensorsDtype } from './safetensors-dtype.js';
import { SAFETENSORS_DTYPE_SIZE, UNSUPPORTED_SAFETENSORS_DTYPES, isSafetensorsDtype } from './safetensors-dtype.js';
import { describeList, shapeProblem } from './shape-check.js';
import { hasLoneSurrogate } from './unicode.js';

/** The largest header a reader accepts, in bytes: 100 MB, the reference library's limit. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/**
 * The most tensors a header may list: 2^18 = 262,144, far beyond any checkpoint file (the
 * largest models are sharded into files of thousands). A 100 MB header can list 1.6 million
 * empty tensors, which took a reader 30 s and gigabytes. The members are counted on the header's
 * bytes before it is decoded and parsed, so such a header is refused in tens of milliseconds.
 */
export const MAX_SAFETENSORS_ENTRIES = 262_144;

/** The reserved header key of the free-form string metadata. */
export const METADATA_KEY = '__metadata__';

/** One tensor as the header describes it, validated. */
export interface SafetensorsHeaderEntry {
  /** The tensor's name (its header key). */
  readonly name: string;
  /** Its element type. */
  readonly dtype: SafetensorsDtype;
  /** The size of each axis, `[]` for a 0-d tensor. */
  readonly shape: number[];
  /** Its first byte, relative to the start of the data buffer. */
  readonly begin: number;
  /** One past its last byte, relative to the start of the data buffer. */
  readonly end: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** The index in the file of the first data byte: 8 + the header length. */
  readonly dataStart: number;
  /** The tensors in offset order; together they tile the data buffer exactly. */
  readonly entries: SafetensorsHeaderEntry[];
  /** The `__metadata__` strings (empty when absent or null). */
  readonly metadata: Record<string, string>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];

/**
 * Reads and checks the header of a safetensors file: the 8-byte little-endian length, the
 * UTF-8 JSON object, every tensor entry, and that the entries tile the data buffer (from 0,
 * contiguous, not overlapping, to the end of the file).
 *
 * @param bytes - the whole file
 * @returns the data start, the entries in offset order and the metadata
 * @throws NormkitError `E_FORMAT` naming the first thing wrong
 */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.length < 8) {
    throw formatError(`bytes: a safetensors file starts with an 8-byte header length, got ${bytes.length} bytes`, 'bytes');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  if (high !== 0 || low > MAX_SAFETENSORS_HEADER_BYTES) {
    const length = view.getBigUint64(0, true);
    throw formatError(`bytes: header length ${length} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit`, 'bytes');
  }
  const dataStart = 8 + low;
  if (dataStart > bytes.length) {
    throw formatError(`bytes: header length ${low} runs past the end of the file (${bytes.length} bytes)`, 'bytes');
  }
  if (low === 0 || bytes[8] !== 0x7b) {
    throw formatError(`bytes: the header must be a JSON object starting with "{", got ${low === 0 ? 'an empty header' : `byte 0x${bytes[8].toString(16)}`}`, 'bytes');
  }
  // Counted on the bytes first: refusing a header of millions of entries after JSON.parse
  // took seconds and hundreds of MB; this scan takes milliseconds per MB.
  if (topLevelMembersExceed(bytes, 8, dataStart, MAX_SAFETENSORS_ENTRIES + 1)) {
    throw formatError(`bytes: the header lists more than ${MAX_SAFETENSORS_ENTRIES} tensors, the most a reader accepts`, 'bytes');
  }
  let text: string;
  try {
    text = UTF8.decode(bytes.subarray(8, dataStart));
  } catch {
    throw formatError('bytes: the header is not valid UTF-8', 'bytes');
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw formatError(`bytes: the header is not valid JSON (${(e as Error).message})`, 'bytes');
  }
  // The header starts with "{": a parsed header is an object. Counted before the scans below.
  const names = Object.keys(parsed);
  const tensorCount = names.length - (Object.hasOwn(parsed, METADATA_KEY) ? 1 : 0);
  if (tensorCount > MAX_SAFETENSORS_ENTRIES) {
    throw formatError(`bytes: the header lists ${tensorCount} tensors, more than the ${MAX_SAFETENSORS_ENTRIES} a reader accepts`, 'bytes');
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw formatError(`bytes: the header repeats the key ${JSON.stringify(duplicate)}`, 'bytes');
  }
  const metadata: Record<string, string> = {};
  const entries: SafetensorsHeaderEntry[] = [];
  for (const name of names) {
    if (name === METADATA_KEY) readMetadata(parsed[name], metadata);
    else entries.push(readEntry(name, parsed[name]));
  }
  checkTiling(entries, bytes.length - dataStart);
  return { dataStart, entries, metadata };
}

/**
 * Whether the JSON object in `bytes[start, end)` (which starts with `{`) has more than `limit`
 * members, counted on the bytes without decoding or parsing: the keys at depth 1, skipping
 * strings (with their escapes) and nested values. Exact for valid JSON; on invalid JSON it
 * only bounds the work (the parse refuses the header afterwards). Stops at the first member
 * past `limit`.
 */
function topLevelMembersExceed(bytes: Uint8Array, start: number, end: number, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  let members = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c /* \ */) escaped = true;
      else if (b === 0x22 /* " */) inString = false;
      continue;
    }
    if (b === 0x22) {
      inString = true;
      if (depth === 1 && expectKey) {
        expectKey = false;
        if (++members > limit) return true;
      }
    } else if (b === 0x7b /* { */ || b === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (b === 0x7d /* } */ || b === 0x5d /* ] */) {
      depth--;
    } else if (b === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return false;
}

function readMetadata(value: unknown, metadata: Record<string, string>): void {
  if (value === null) return; // The reference reader takes null as "no metadata".
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw formatError(`bytes: header ${METADATA_KEY}: expected an object of strings, got ${describeValue(value)}`, 'bytes');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const text = record[key];
    if (typeof text !== 'string') {
      throw formatError(`bytes: header ${METADATA_KEY}[${JSON.stringify(key)}]: expected a string, got ${describeValue(text)}`, 'bytes');
    }
    if (hasLoneSurrogate(key) || hasLoneSurrogate(text)) {
      throw formatError(`bytes: header ${METADATA_KEY}[${JSON.stringify(key)}]: holds a lone surrogate, which UTF-8 cannot encode`, 'bytes');
    }
    setOwnEntry(metadata, key, text);
  }
}

function readEntry(name: string, value: unknown): SafetensorsHeaderEntry {
  const where = `bytes: header[${JSON.stringify(name)}]`;
  if (hasLoneSurrogate(name)) throw formatError(`${where}: the name holds a lone surrogate, which UTF-8 cannot encode`, 'bytes');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw formatError(`${where}: expected {dtype, shape, data_offsets}, got ${describeValue(value)}`, 'bytes');
  }
  const info = value as Record<string, unknown>;
  for (const key of Object.keys(info)) {
    if (!ENTRY_KEYS.includes(key)) throw formatError(`${where}: unexpected field ${JSON.stringify(key)}; expected only dtype, shape, data_offsets`, 'bytes');
  }
  for (const key of ENTRY_KEYS) {
    if (!Object.hasOwn(info, key)) throw formatError(`${where}: missing field ${key}`, 'bytes');
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (!isSafetensorsDtype(dtype)) {
    const why =
      typeof dtype === 'string' && UNSUPPORTED_SAFETENSORS_DTYPES.includes(dtype)
        ? `dtype ${dtype} is not supported; normkit reads F64, F32, I64, F16, BF16`
        : `unknown dtype ${describeValue(dtype)}; expected one of F64, F32, I64, F16, BF16`;
    throw formatError(`${where}: ${why}`, 'bytes');
  }
  const problem = shapeProblem(shape);
  if (problem !== undefined) throw formatError(`${where}.shape: ${problem}, got ${describeList(shape, describeValue)}`, 'bytes');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    const tooLarge = Array.isArray(offsets) && offsets.some((o: unknown) => typeof o === 'number' && Number.isInteger(o) && o > Number.MAX_SAFE_INTEGER);
    const expected = tooLarge ? 'offsets of at most 2^53 − 1' : '[begin, end] with 0 ≤ begin ≤ end';
    throw formatError(`${where}.data_offsets: expected ${expected}, got ${describeList(offsets, describeValue)}`, 'bytes');
  }
  const dims = shape as number[];
  const [begin, end] = offsets as [number, number];
  let count = 1;
  for (const d of dims) count *= d;
  const expected = count * SAFETENSORS_DTYPE_SIZE[dtype];
  if (expected !== end - begin) {
    throw formatError(
      `${where}: ${dtype} of shape [${dims.join(', ')}] needs ${expected} bytes, data_offsets [${begin}, ${end}] span ${end - begin}`,
      'bytes',
    );
  }
  return { name, dtype, shape: dims, begin, end };
}

function checkTiling(entries: SafetensorsHeaderEntry[], dataLength: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: SafetensorsHeaderEntry | undefined;
  for (const entry of entries) {
    const where = `bytes: header[${JSON.stringify(entry.name)}].data_offsets [${entry.begin}, ${entry.end}]`;
    if (entry.begin < covered) {
      throw formatError(`${where} overlap ${JSON.stringify((previous as SafetensorsHeaderEntry).name)}, which ends at ${covered}`, 'bytes');
    }
    if (entry.begin > covered) {
      const what = previous === undefined ? 'the data buffer starts at 0' : `${JSON.stringify(previous.name)} ends at ${covered}`;
      throw formatError(`${where} are not contiguous: ${what}`, 'bytes');
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) {
    throw formatError(`bytes: the tensors cover ${covered} data bytes, but the file holds ${dataLength} after the header`, 'bytes');
  }
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

