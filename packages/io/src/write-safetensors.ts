import type { FloatArray, Tensor } from '@normkit/core';
import { NormkitError, assertTensor, describeValue, dtypeOf, isContiguous, sizeOf, toTypedArray } from '@normkit/core';
import { encodeElements } from './safetensors-encode.js';
import type { WritableSafetensorsDtype } from './safetensors-encode.js';
import { SAFETENSORS_DTYPE_SIZE, WRITE_ORDER_RANK } from './safetensors-dtype.js';
import { METADATA_KEY } from './safetensors-header.js';
import { compareCodePoints, hasLoneSurrogate } from './unicode.js';

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /**
   * Names of entries to store as `I64` (64-bit integers) rather than as their float dtype,
   * e.g. `['num_batches_tracked']` so a PyTorch batch-norm state dict keeps the dtype
   * PyTorch gives it. Each named entry must exist and hold integers within ±2^53.
   */
  readonly int64?: readonly string[];
}

interface PlannedEntry {
  readonly name: string;
  readonly dtype: WritableSafetensorsDtype;
  readonly shape: readonly number[];
  readonly values: FloatArray;
}

const HEADER_ALIGNMENT = 8;
const SPACE = 0x20;
const TWO_POW_53 = 9007199254740992;

/**
 * Writes tensors as a safetensors file that Hugging Face's `safetensors` library (and so
 * PyTorch's `safetensors.torch.load_file`) reads.
 *
 * Each tensor is stored as a row-major little-endian copy, whatever its strides and offset:
 * float64 tensors as `F64`, float32 as `F32`, and the entries named in `options.int64` as
 * `I64`. The layout is the reference writer's, so the same tensors give the same bytes:
 * tensors ordered by dtype (`I64`, then `F64`, then `F32`: widest first, so every tensor
 * starts at a multiple of its element size), then by name in code-point order; the header is
 * compact JSON with `__metadata__` first (keys in code-point order; omitted when there is no
 * metadata) and then the tensors in that order, each as `{"dtype", "shape", "data_offsets"}`,
 * padded with spaces to a multiple of 8 bytes.
 *
 * @param tensors - name → float tensor (any strides; 0-d and empty tensors allowed)
 * @param metadata - free-form strings stored as `__metadata__` (default none)
 * @param options - `int64`: names to store as 64-bit integers
 * @returns the file's bytes
 * @throws NormkitError `E_STATE` when `tensors` is not an object, uses the reserved name
 *   `__metadata__`, or has a name with a lone surrogate (not UTF-8 encodable);
 *   `E_DTYPE` / `E_SHAPE` for an entry that is not a float tensor whose strides fit its buffer;
 *   `E_DTYPE` when an `int64` entry holds a non-integer or a value beyond ±2^53;
 *   `E_OPTION` for metadata that is not an object of strings, or an `int64` option that is
 *   not a list of names of entries
 * @example
 * ```ts
 * const bytes = writeSafetensors(bn.stateDict(), { format: 'pt' }, { int64: ['numBatchesTracked'] });
 * writeFileSync('bn.safetensors', bytes);
 * ```
 */
export function writeSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) {
    throw new NormkitError('E_STATE', `tensors: expected an object of tensors, got ${describeValue(tensors)}`, 'tensors');
  }
  const int64 = checkInt64Option(options, tensors);
  const metadataKeys = checkMetadata(metadata);
  const entries = planEntries(tensors, int64);

  let header = '{';
  if (metadataKeys.length > 0) {
    header += `${JSON.stringify(METADATA_KEY)}:{${metadataKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`;
  }
  let offset = 0;
  for (const entry of entries) {
    const bytes = entry.values.length * SAFETENSORS_DTYPE_SIZE[entry.dtype];
    if (header.length > 1) header += ',';
    header += `${JSON.stringify(entry.name)}:{"dtype":"${entry.dtype}","shape":[${entry.shape.join(',')}],"data_offsets":[${offset},${offset + bytes}]}`;
    offset += bytes;
  }
  header += '}';

  const headerBytes = new TextEncoder().encode(header);
  const headerLength = Math.ceil(headerBytes.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 4294967296, true);
  view.setUint32(4, Math.floor(headerLength / 4294967296), true);
  out.set(headerBytes, 8);
  out.fill(SPACE, 8 + headerBytes.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const entry of entries) {
    encodeElements(entry.values, entry.dtype, out, at);
    at += entry.values.length * SAFETENSORS_DTYPE_SIZE[entry.dtype];
  }
  return out;
}

function checkInt64Option(options: WriteSafetensorsOptions, tensors: Record<string, Tensor>): Set<string> {
  if (typeof options !== 'object' || options === null) {
    throw new NormkitError('E_OPTION', `options: expected an object, got ${describeValue(options)}`, 'options');
  }
  const names = options.int64 ?? [];
  if (!Array.isArray(names) || !names.every((n: unknown) => typeof n === 'string')) {
    throw new NormkitError('E_OPTION', `options.int64: expected a list of entry names, got ${describeValue(names)}`, 'options.int64');
  }
  for (const name of names as string[]) {
    if (!Object.hasOwn(tensors, name)) {
      throw new NormkitError('E_OPTION', `options.int64: names ${JSON.stringify(name)}, which is not an entry of tensors`, 'options.int64');
    }
  }
  return new Set(names as string[]);
}

function checkMetadata(metadata: Record<string, string>): string[] {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new NormkitError('E_OPTION', `metadata: expected an object of strings, got ${describeValue(metadata)}`, 'metadata');
  }
  const keys = Object.keys(metadata);
  for (const key of keys) {
    const value: unknown = metadata[key];
    if (typeof value !== 'string') {
      throw new NormkitError('E_OPTION', `metadata[${JSON.stringify(key)}]: expected a string, got ${describeValue(value)}`, 'metadata');
    }
    if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
      throw new NormkitError('E_OPTION', `metadata[${JSON.stringify(key)}]: holds a lone surrogate, which UTF-8 cannot encode`, 'metadata');
    }
  }
  return keys.sort(compareCodePoints);
}

function planEntries(tensors: Record<string, Tensor>, int64: ReadonlySet<string>): PlannedEntry[] {
  const entries: PlannedEntry[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === METADATA_KEY) {
      throw new NormkitError('E_STATE', `tensors.${METADATA_KEY}: the name is reserved for the metadata in safetensors`, `tensors.${name}`);
    }
    if (hasLoneSurrogate(name)) {
      throw new NormkitError('E_STATE', `tensors[${JSON.stringify(name)}]: the name holds a lone surrogate, which UTF-8 cannot encode`, `tensors.${name}`);
    }
    const t = assertTensor(tensors[name], `tensors.${name}`, { allowEmpty: true });
    const size = sizeOf(t.shape);
    const values = isContiguous(t) ? t.data.subarray(t.offset, t.offset + size) : toTypedArray(t);
    let dtype: WritableSafetensorsDtype = dtypeOf(t) === 'float64' ? 'F64' : 'F32';
    if (int64.has(name)) {
      dtype = 'I64';
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!Number.isInteger(v) || Math.abs(v) > TWO_POW_53) {
          throw new NormkitError(
            'E_DTYPE',
            `tensors.${name}: stored as I64 (options.int64), expected integers within ±2^53, got ${describeValue(v)} at row-major index ${i}`,
            `tensors.${name}`,
          );
        }
      }
    }
    entries.push({ name, dtype, shape: t.shape, values });
  }
  return entries.sort((a, b) => WRITE_ORDER_RANK[b.dtype] - WRITE_ORDER_RANK[a.dtype] || compareCodePoints(a.name, b.name));
}
