import type { Tensor } from '@normkit/core';
import { describeValue, tensor } from '@normkit/core';
import { formatError } from './format-error.js';
import { setOwnEntry } from './own-entries.js';
import { decodeElements } from './safetensors-decode.js';
import type { SafetensorsDtype } from './safetensors-dtype.js';
import { SAFETENSORS_DTYPE_SIZE } from './safetensors-dtype.js';
import { readSafetensorsHeader } from './safetensors-header.js';

/** What {@link readSafetensors} returns. */
export interface SafetensorsContents {
  /**
   * name → tensor, in offset order (as JavaScript orders object keys: integer-like names
   * first). Each tensor is row-major over its own new buffer: float64 for `F64` and `I64`,
   * float32 for `F32`, `F16` and `BF16`. A 0-d tensor has shape `[]`.
   */
  readonly tensors: Record<string, Tensor>;
  /** The `__metadata__` strings; `{}` when the file has none. */
  readonly metadata: Record<string, string>;
  /**
   * name → the dtype stored in the file. Pass the `I64` names to
   * {@link writeSafetensors}'s `int64` option to write the file back with the same dtypes
   * (F16 and BF16 entries are written back as F32).
   */
  readonly dtypes: Record<string, SafetensorsDtype>;
}

/**
 * Reads a safetensors file (the format of Hugging Face's `safetensors` library, PyTorch's
 * `save_file`): an 8-byte little-endian header length N, N bytes of UTF-8 JSON naming each
 * tensor's dtype, shape and byte range, then the little-endian data.
 *
 * Everything is checked before anything is returned: the header (at most 100 MB, valid
 * UTF-8, a JSON object with no repeated key, string metadata, known dtypes, non-negative
 * integer shapes, byte ranges that match dtype × shape) and the layout (the ranges start at
 * 0, are contiguous, do not overlap and end at the end of the file). Decoding does not
 * depend on the host's byte order.
 *
 * @param bytes - the whole file (a `Uint8Array`, e.g. a Node `Buffer`, or an `ArrayBuffer`)
 * @returns the tensors, the metadata and the stored dtypes
 * @throws NormkitError `E_FORMAT` for anything that is not a valid safetensors file of the
 *   dtypes F64, F32, I64, F16, BF16, or an I64 value beyond ±2^53
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const { tensors, metadata } = readSafetensors(readFileSync('bn.safetensors'));
 * tensors.running_mean.shape; // [64]
 * ```
 */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsContents {
  let file: Uint8Array;
  if (bytes instanceof Uint8Array) file = bytes;
  else if (bytes instanceof ArrayBuffer) file = new Uint8Array(bytes);
  else throw formatError(`bytes: expected a Uint8Array or an ArrayBuffer, got ${describeValue(bytes)}`, 'bytes');
  const { dataStart, entries, metadata } = readSafetensorsHeader(file);
  const tensors: Record<string, Tensor> = {};
  const dtypes: Record<string, SafetensorsDtype> = {};
  for (const { name, dtype, shape, begin, end } of entries) {
    const count = (end - begin) / SAFETENSORS_DTYPE_SIZE[dtype];
    const values = decodeElements(file, dataStart + begin, count, dtype, name);
    setOwnEntry(tensors, name, tensor(values, shape));
    setOwnEntry(dtypes, name, dtype);
  }
  return { tensors, metadata, dtypes };
}
