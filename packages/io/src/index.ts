/**
 * `@normkit/io`: file formats for state dicts, with no knowledge of particular layers.
 *
 * - Safetensors: {@link readSafetensors} and {@link writeSafetensors} read and write the
 *   format of Hugging Face's `safetensors` library (PyTorch's `save_file` / `load_file`),
 *   dtypes F64, F32 and I64 (read and write), F16 and BF16 (read, into float32).
 * - JSON: {@link stateDictToJSON} and {@link stateDictFromJSON} write and read a documented
 *   JSON format ({@link StateDictJSONDocument}) with dtype, shape and exact values per entry.
 *
 * Every reader checks its whole input before returning anything and throws a `NormkitError`
 * with code `E_FORMAT` on input that is not a valid file.
 *
 * @packageDocumentation
 */
export { readSafetensors } from './read-safetensors.js';
export type { SafetensorsContents } from './read-safetensors.js';
export { writeSafetensors } from './write-safetensors.js';
export type { WriteSafetensorsOptions } from './write-safetensors.js';
export type { SafetensorsDtype } from './safetensors-dtype.js';
export { MAX_SAFETENSORS_ENTRIES, MAX_SAFETENSORS_HEADER_BYTES, MAX_SAFETENSORS_METADATA_ENTRIES } from './safetensors-header.js';
export { MAX_TENSOR_RANK } from './shape-check.js';
export { float16BitsToNumber, bfloat16BitsToNumber } from './half.js';
export { stateDictToJSON } from './state-dict-to-json.js';
export { stateDictFromJSON } from './state-dict-from-json.js';
export { STATE_DICT_JSON_FORMAT, STATE_DICT_JSON_VERSION } from './state-dict-json-format.js';
export type { StateDictJSONDocument, StateDictJSONEntry, StateDictJSONValue } from './state-dict-json-format.js';
export { VERSION } from './version.js';
