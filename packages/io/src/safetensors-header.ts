import { describeValue } from '@normkit/core';
import { findDuplicateKey } from './duplicate-keys.js';
import { formatError } from './format-error.js';
import { setOwnEntry } from './own-entries.js';
import type { SafetensorsDtype } from './safetensors-dtype.js';
import { SAFETENSORS_DTYPE_SIZE, UNSUPPORTED_SAFETENSORS_DTYPES, isSafetensorsDtype } from './safetensors-dtype.js';
import { MAX_TENSOR_RANK, describeList, shapeProblem } from './shape-check.js';
import { hasLoneSurrogate } from './unicode.js';

/** The largest header a reader accepts, in bytes: 100 MB, the reference library's limit. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/**
 * The most tensors a header may list: 2^18 = 262,144, far beyond any checkpoint file (the
 * largest models are sharded into files of thousands). A 100 MB header can list 1.6 million
 * empty tensors, which took a reader 30 s and gigabytes. The members are counted on the header's
 * bytes before it is decoded and parsed (with the other limits of the header's structure), so
 * such a header is refused in tens of milliseconds.
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
  // Bounded on the bytes first: refusing a header of millions of entries after JSON.parse
  // took seconds and hundreds of MB; this scan takes milliseconds per MB.
  const sizeProblem = headerSizeProblem(bytes, 8, dataStart);
  if (sizeProblem !== null) throw formatError(`bytes: ${sizeProblem}`, 'bytes');
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

/** The most `__metadata__` entries a header may have: 65,536 (real files hold a handful). */
export const MAX_SAFETENSORS_METADATA_ENTRIES = 65_536;

/**
 * The byte scan's limits inside an entry, far above a valid header's (3 fields; lists of at
 * most {@link MAX_TENSOR_RANK} values) so that a slightly wrong header still reaches the
 * parse and its precise message, and low enough to bound the parse: at most about 1 s and
 * 250 MB for a 100 MB header.
 */
const MAX_SCANNED_FIELDS = 16;
const MAX_SCANNED_LIST_VALUES = 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** `"__metadata__"`, the bytes of the key with its quotes. */
const METADATA_KEY_BYTES = new TextEncoder().encode(JSON.stringify(METADATA_KEY));

/**
 * What is wrong with the size of the JSON object in `bytes[start, end)` (which starts with
 * `{`), found on the bytes before decoding and parsing, or `null`. Parsing a 100 MB header
 * builds whatever it holds (millions of keys took seconds and gigabytes), so its structure is
 * bounded first, by limits no valid header reaches:
 *
 * - at most {@link MAX_SAFETENSORS_ENTRIES} + 1 top-level members (the tensors and `__metadata__`);
 * - nothing nested deeper than the header's own three levels (header → entry → shape);
 * - at most {@link MAX_SAFETENSORS_METADATA_ENTRIES} members in `__metadata__`, and 16 in an
 *   entry (which has 3: `dtype`, `shape`, `data_offsets`);
 * - at most 1,024 values in a list (a shape has at most {@link MAX_TENSOR_RANK}; `data_offsets` 2).
 *
 * Strings are skipped with their escapes; a top-level key spelt with escapes is decoded to
 * tell `__metadata__` from a tensor name. Exact on valid JSON; on invalid JSON it only bounds
 * the work (the parse refuses the header afterwards).
 */
function headerSizeProblem(bytes: Uint8Array, start: number, end: number): string | null {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  let stringHasEscape = false;
  // Per open container (depth 1 … 3): is it an array, its members or values so far, its limit,
  // and (objects) whether the next string is a key.
  const isArray = [false, false, false, false];
  const counts = [0, 0, 0, 0];
  const limits = [0, 0, 0, 0];
  const expectKey = [false, false, false, false];
  let keyIsMetadata = false; // the last top-level key read: __metadata__, or spelt with escapes
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = stringHasEscape = true;
      else if (b === QUOTE) {
        inString = false;
        if (depth === 1 && expectKey[1]) {
          expectKey[1] = false;
          keyIsMetadata = stringHasEscape ? decodedKey(bytes, stringStart, i + 1) === METADATA_KEY : sameBytes(bytes, stringStart, i + 1, METADATA_KEY_BYTES);
        } else if (depth > 1 && !isArray[depth]) expectKey[depth] = false;
      }
      continue;
    }
    if (b === QUOTE) {
      inString = true;
      stringStart = i;
      stringHasEscape = false;
      if (!isArray[depth] && expectKey[depth] && ++counts[depth] > limits[depth]) return membersText(depth, keyIsMetadata);
    } else if (b === 0x7b /* { */ || b === 0x5b /* [ */) {
      if (++depth > 3) return 'the header nests values deeper than a safetensors header does (header, entry, shape)';
      const array = b === 0x5b;
      isArray[depth] = array;
      counts[depth] = 0;
      expectKey[depth] = !array;
      limits[depth] = array ? MAX_SCANNED_LIST_VALUES : depth === 1 ? MAX_SAFETENSORS_ENTRIES + 1 : depth === 2 && keyIsMetadata ? MAX_SAFETENSORS_METADATA_ENTRIES : MAX_SCANNED_FIELDS;
    } else if (b === 0x7d /* } */ || b === 0x5d /* ] */) {
      if (depth > 0) depth--;
    } else if (b === 0x2c /* , */ && depth > 0) {
      if (isArray[depth]) {
        // n commas: n + 1 values
        if (++counts[depth] >= limits[depth]) return `the header holds a list of more than ${MAX_SCANNED_LIST_VALUES} values (a shape has at most ${MAX_TENSOR_RANK} axes)`;
      } else expectKey[depth] = true;
    }
  }
  return null;
}

/** The refusal for an object with too many members at `depth`. */
function membersText(depth: number, metadata: boolean): string {
  if (depth === 1) return `the header lists more than ${MAX_SAFETENSORS_ENTRIES} tensors, the most a reader accepts`;
  if (metadata) return `the header's ${METADATA_KEY} holds more than ${MAX_SAFETENSORS_METADATA_ENTRIES} entries, the most a reader accepts`;
  return `a header entry holds more than ${MAX_SCANNED_FIELDS} fields; expected only ${ENTRY_KEYS.join(', ')}`;
}

/** The JSON string `bytes[from, to)` (quotes included) decoded, or `null` when it is not one. */
function decodedKey(bytes: Uint8Array, from: number, to: number): string | null {
  try {
    return JSON.parse(UTF8.decode(bytes.subarray(from, to))) as string;
  } catch {
    return null;
  }
}

/** Whether `bytes[from, to)` equals `expected`. */
function sameBytes(bytes: Uint8Array, from: number, to: number, expected: Uint8Array): boolean {
  if (to - from !== expected.length) return false;
  for (let k = 0; k < expected.length; k++) if (bytes[from + k] !== expected[k]) return false;
  return true;
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

