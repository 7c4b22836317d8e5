import type { Dtype } from '@normkit/core';

/** The value of the `format` field that marks a normkit JSON state dict. */
export const STATE_DICT_JSON_FORMAT = 'normkit.state-dict';

/** The version of the JSON state-dict format this package writes and reads. */
export const STATE_DICT_JSON_VERSION = 1;

/**
 * One element in a JSON state dict: a JSON number, or one of three strings for the values
 * JSON numbers cannot spell.
 */
export type StateDictJSONValue = number | 'NaN' | 'Infinity' | '-Infinity';

/** One tensor in a JSON state dict. */
export interface StateDictJSONEntry {
  /** The tensor's dtype. */
  readonly dtype: Dtype;
  /** The size of each axis; `[]` for a 0-d tensor. */
  readonly shape: readonly number[];
  /** The values in row-major order: Π shape of them (one for a 0-d tensor). */
  readonly data: readonly StateDictJSONValue[];
}

/**
 * The JSON state-dict format (version 1), as written by {@link stateDictToJSON} and read by
 * {@link stateDictFromJSON}:
 *
 * ```json
 * {
 *   "format": "normkit.state-dict",
 *   "version": 1,
 *   "tensors": {
 *     "weight": { "dtype": "float32", "shape": [3], "data": [1, 0.1, -0] },
 *     "numBatchesTracked": { "dtype": "float64", "shape": [], "data": [12] }
 *   }
 * }
 * ```
 *
 * Values are exact. A float64 value is written as the shortest decimal that reads back as the
 * same float64 (JavaScript's own number formatting); a float32 value as the shortest decimal
 * that rounds to the same float32 (`0.1`, not `0.10000000149011612`); `-0` as `-0`; NaN and
 * ±Infinity as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (NaN payloads are not kept).
 * A reader refuses a document with another `format`, another `version`, a field it does not
 * know, a repeated key, or data that does not fit dtype and shape.
 */
export interface StateDictJSONDocument {
  /** Always {@link STATE_DICT_JSON_FORMAT}. */
  readonly format: typeof STATE_DICT_JSON_FORMAT;
  /** Always {@link STATE_DICT_JSON_VERSION}. */
  readonly version: typeof STATE_DICT_JSON_VERSION;
  /** name → tensor. */
  readonly tensors: Readonly<Record<string, StateDictJSONEntry>>;
}
