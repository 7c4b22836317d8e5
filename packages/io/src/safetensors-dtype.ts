/**
 * The safetensors dtypes normkit reads. `F64` and `F32` read into float64 and float32
 * tensors; `I64` (PyTorch's `num_batches_tracked`) into float64, refused beyond ±2^53;
 * `F16` and `BF16` into float32 (exact). {@link writeSafetensors} writes `F64`, `F32`, and
 * `I64` for the entries its `int64` option names.
 */
export type SafetensorsDtype = 'F64' | 'F32' | 'I64' | 'F16' | 'BF16';

/** Bytes per element of each readable dtype. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  I64: 8,
  F16: 2,
  BF16: 2,
});

/**
 * The dtypes of the safetensors format that normkit does not read (booleans, other integers,
 * 8-bit and smaller floats, complex): a file holding one is refused with a message saying so,
 * rather than as an unknown dtype.
 */
export const UNSUPPORTED_SAFETENSORS_DTYPES: readonly string[] = Object.freeze([
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'I32',
  'U32',
  'U64',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F6_E2M3',
  'F6_E3M2',
  'F4',
  'C64',
]);

/**
 * Is `value` a dtype normkit reads?
 *
 * @param value - a `dtype` field from a safetensors header
 * @returns whether it is one of {@link SafetensorsDtype}
 */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZE, value);
}

/**
 * The rank of a dtype in the reference library's dtype order (its `Dtype` enum, "in
 * increasing alignment order": … F32 < F64 < I64). The reference writer lays tensors out by
 * descending rank, then by name, so 8-byte elements come first and every tensor starts at a
 * multiple of its element size.
 */
export const WRITE_ORDER_RANK: Readonly<Record<'F32' | 'F64' | 'I64', number>> = Object.freeze({ F32: 0, F64: 1, I64: 2 });
