import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Tensor } from '@normkit/core';
import { NormkitError, dtypeOf, sizeOf } from '@normkit/core';
import { readSafetensors, stateDictFromJSON, stateDictToJSON, writeSafetensors } from '@normkit/io';
import { UsageError, parseArgs } from '../args.js';
import type { Io } from '../io.js';
import { table } from '../io.js';
import { BUILTIN_PLUGINS } from '../plugins.js';

/** The usage of `normkit state`. */
const STATE_USAGE = 'usage: normkit state inspect FILE [--json] | normkit state convert IN OUT (FILE, IN, OUT: .safetensors or .json)';

/** The JSON printed by `normkit state inspect FILE --json`. */
export interface StateInspectJson {
  /** The file as given. */
  readonly file: string;
  /** Its format, from the extension. */
  readonly format: 'safetensors' | 'json';
  /** The safetensors `__metadata__` strings (`{}` for JSON files, which have none). */
  readonly metadata: Readonly<Record<string, string>>;
  /** One entry per tensor, in file order. */
  readonly tensors: readonly {
    /** The entry's name. */
    name: string;
    /** The stored dtype: `F64`, `F32`, `I64`, `F16`, `BF16` (safetensors) or `float32`, `float64` (JSON). */
    dtype: string;
    /** The shape (`[]` for a 0-d tensor). */
    shape: number[];
  }[];
}

type StateFormat = 'safetensors' | 'json';

interface LoadedState {
  readonly format: StateFormat;
  readonly tensors: Record<string, Tensor>;
  readonly metadata: Record<string, string>;
  /** name → stored dtype. */
  readonly dtypes: Record<string, string>;
}

/** `.safetensors` or `.json`, from a path's extension. */
function formatOf(path: string, role: string): StateFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.safetensors') return 'safetensors';
  if (ext === '.json') return 'json';
  throw new UsageError(`${role} ${JSON.stringify(path)}: expected a .safetensors or .json file, got extension ${JSON.stringify(ext)}`);
}

/** Reads a state file; a file that cannot be read is a usage error, a malformed one an `E_FORMAT` error. */
function loadState(path: string): LoadedState {
  const format = formatOf(path, 'FILE');
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    if (format === 'safetensors') {
      const { tensors, metadata, dtypes } = readSafetensors(bytes);
      return { format, tensors, metadata, dtypes };
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new NormkitError('E_FORMAT', 'JSON state dict: expected UTF-8 text, got bytes that are not UTF-8', 'text');
    }
    const tensors = stateDictFromJSON(text);
    const dtypes = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, dtypeOf(t)]));
    return { format, tensors, metadata: {}, dtypes };
  } catch (e) {
    if (e instanceof NormkitError) throw new NormkitError(e.code, `${path}: ${e.message}`, e.argument);
    throw e;
  }
}

/**
 * The last name component of every built-in plugin's int64 entries, in normkit's and
 * PyTorch's names (`numBatchesTracked`, `num_batches_tracked`).
 */
function builtinCounterNames(): Set<string> {
  const names = new Set<string>();
  for (const plugin of BUILTIN_PLUGINS) {
    const pytorch = plugin.pytorch as { int64?: readonly string[]; stateDict: Readonly<Record<string, string | undefined>> } | undefined;
    for (const name of pytorch?.int64 ?? []) {
      names.add(name);
      const key = pytorch?.stateDict[name];
      if (key !== undefined) names.add(key);
    }
  }
  return names;
}

/**
 * The entries to store as I64 when writing safetensors: those stored as I64 in a safetensors
 * source; from a JSON source (which has no int64), the counters of the built-in layers
 * (`num_batches_tracked`, `numBatchesTracked`, under any prefix) that hold integers.
 */
function int64Entries(state: LoadedState): string[] {
  if (state.format === 'safetensors') return Object.keys(state.dtypes).filter((name) => state.dtypes[name] === 'I64');
  const counters = builtinCounterNames();
  return Object.keys(state.tensors).filter((name) => {
    if (!counters.has(name.slice(name.lastIndexOf('.') + 1))) return false;
    const t = state.tensors[name];
    const n = sizeOf(t.shape);
    for (let i = 0; i < n; i++) {
      const v = t.data[t.offset + i];
      if (!Number.isInteger(v) || Math.abs(v) > 2 ** 53) return false;
    }
    return true;
  });
}

function inspect(argv: readonly string[], io: Io): number {
  const { positionals, flags } = parseArgs(argv, [], ['json']);
  if (positionals.length !== 1) throw new UsageError(STATE_USAGE);
  const [file] = positionals;
  const state = loadState(file);
  const report: StateInspectJson = {
    file,
    format: state.format,
    metadata: state.metadata,
    tensors: Object.keys(state.tensors).map((name) => ({ name, dtype: state.dtypes[name], shape: [...state.tensors[name].shape] })),
  };
  if (flags.has('json')) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const metadata = Object.entries(state.metadata);
  io.out(`${file}: ${state.format}, ${report.tensors.length} tensor${report.tensors.length === 1 ? '' : 's'}\n`);
  io.out(`metadata: ${metadata.length === 0 ? '(none)' : metadata.map(([k, v]) => `${printable(k)}=${quoted(v)}`).join(' ')}\n`);
  if (report.tensors.length > 0) {
    io.out(table([['NAME', 'DTYPE', 'SHAPE'], ...report.tensors.map((t) => [printable(t.name), t.dtype, `[${t.shape.join(', ')}]`])]));
  }
  return 0;
}

/**
 * Characters a terminal acts on or that reorder or break a line: C0 and C1 controls, DEL, the
 * line and paragraph separators, and the bidirectional embeddings, overrides and isolates.
 */
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A JSON string literal of `text` with every {@link TERMINAL_UNSAFE} character written as `\uXXXX`. */
function quoted(text: string): string {
  return JSON.stringify(text).replace(TERMINAL_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A name or value from a file as the output prints it: as it is, or as a quoted string (see
 * {@link quoted}) when it holds a character a terminal acts on, spaces at either end or a
 * quote, so that no escape sequence from a file reaches the terminal and no newline breaks
 * the table.
 */
function printable(name: string): string {
  TERMINAL_UNSAFE.lastIndex = 0;
  return TERMINAL_UNSAFE.test(name) || /["]|^\s|\s$/.test(name) || name === '' ? quoted(name) : name;
}

function convert(argv: readonly string[], io: Io): number {
  const { positionals } = parseArgs(argv, [], []);
  if (positionals.length !== 2) throw new UsageError(STATE_USAGE);
  const [input, output] = positionals;
  const target = formatOf(output, 'OUT');
  const state = loadState(input);
  let bytes: Uint8Array | string;
  let note = '';
  if (target === 'safetensors') {
    const int64 = int64Entries(state);
    bytes = writeSafetensors(state.tensors, state.metadata, { int64 });
    if (int64.length > 0) note = `; int64: ${int64.map(printable).join(', ')}`;
  } else {
    bytes = stateDictToJSON(state.tensors);
    const dropped = [
      ...(Object.keys(state.metadata).length > 0 ? ['the metadata'] : []),
      ...Object.keys(state.dtypes).filter((n) => ['I64', 'F16', 'BF16'].includes(state.dtypes[n])).map((n) => `${printable(n)}'s dtype ${state.dtypes[n]}`),
    ];
    if (dropped.length > 0) note = `; JSON keeps float32/float64 only, not ${dropped.join(', ')}`;
  }
  try {
    writeFileSync(output, bytes);
  } catch (e) {
    throw new UsageError(`cannot write ${JSON.stringify(output)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const count = Object.keys(state.tensors).length;
  io.out(`wrote ${output}: ${target}, ${count} tensor${count === 1 ? '' : 's'}${note}\n`);
  return 0;
}

/**
 * `normkit state inspect FILE [--json]` lists a state file's entries (name, stored dtype,
 * shape) and its metadata; `normkit state convert IN OUT` converts between `.safetensors` and
 * `.json` (chosen by extension), keeping the I64 entries of a safetensors source and storing
 * the built-in layers' integer counters (`num_batches_tracked`) as I64 from a JSON source.
 * A file that cannot be read is a usage error and a malformed one an `E_FORMAT` error: `main`
 * prints either on one line and exits with 2.
 *
 * @param argv - the arguments after `state`
 * @param io - where to write
 * @returns 0
 * @throws UsageError for bad arguments or unreadable files; NormkitError `E_FORMAT` for bad files
 */
export function stateCommand(argv: readonly string[], io: Io): number {
  const [sub, ...rest] = argv;
  if (sub === 'inspect') return inspect(rest, io);
  if (sub === 'convert') return convert(rest, io);
  throw new UsageError(sub === undefined ? STATE_USAGE : `unknown state command ${JSON.stringify(sub)} (expected inspect or convert; ${STATE_USAGE})`);
}
