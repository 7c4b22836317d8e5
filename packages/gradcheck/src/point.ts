import { dtypeOf, tensor, toContiguous } from '@normkit/core';
import type { Dtype, Mode, Tensor } from '@normkit/core';
import type { AnyBound, TensorRecord } from './problem.js';
import { presentTensors } from './problem.js';
import type { RunInputs } from './run.js';
import { convertRecord, tensorOf } from './run.js';

/**
 * The point a case is checked at, as the variant checks see it: the bound normalizer, the
 * mode, x, the parameters and the state (float64, contiguous), and the cotangent r that every
 * backward call receives as dy.
 */
export interface CheckPoint {
  /** The bound normalizer under test. */
  readonly bound: AnyBound;
  /** The mode of every call. */
  readonly mode: Mode;
  /** The input, float64, row-major. */
  readonly x: Tensor;
  /** The parameters, float64, row-major. */
  readonly params: TensorRecord;
  /** The state in `init('float64')`'s dtypes. */
  readonly state: TensorRecord;
  /** The cotangent, y's row-major order. */
  readonly r: Float64Array;
  /** y's shape. */
  readonly yShape: readonly number[];
  /** The state entries that stay float64 whatever the dtype (counters such as `numBatchesTracked`). */
  readonly counters: ReadonlySet<string>;
}

/**
 * The state entries `init` keeps in float64 when asked for float32 (step counters): the
 * entries that do not follow the dtype.
 */
export function counterNames(bound: AnyBound): Set<string> {
  const names = new Set<string>();
  try {
    for (const [name, t] of Object.entries(presentTensors(bound.init('float32').state))) if (dtypeOf(t) === 'float64') names.add(name);
  } catch {
    // init threw: the base checks report it; no counters then.
  }
  return names;
}

/** The dtypes of one run's inputs: x, the parameters with the floating state, and dy. */
export interface RunDtypes {
  /** x's dtype. */
  readonly x: Dtype;
  /** The parameters' and floating state's dtype. */
  readonly params: Dtype;
  /** dy's dtype. */
  readonly dy: Dtype;
}

/** The same dtype everywhere. */
export function allIn(dtype: Dtype): RunDtypes {
  return { x: dtype, params: dtype, dy: dtype };
}

/**
 * The point's inputs in the given dtypes (row-major copies, rounded once to float32 where
 * asked); counters stay float64.
 */
export function inputsIn(point: CheckPoint, dtypes: RunDtypes): RunInputs {
  return {
    x: toContiguous(point.x, dtypes.x),
    params: convertRecord(point.params, () => dtypes.params),
    state: convertRecord(point.state, (name, t) => (point.counters.has(name) ? dtypeOf(t) : dtypes.params)),
    dy: tensorOf(point.r, point.yShape, dtypes.dy),
  };
}

/**
 * The normalizer whose float64 call is the reference for a call in `dtype`: the plugin's
 * `float64Reference(dtype)` where it declares one (options that resolve per dtype, such as
 * RMS norm's `eps: null`), else `bound` itself.
 *
 * @param bound - the normalizer under check
 * @param dtype - the dtype of the call compared with the float64 run
 * @returns the normalizer to run in float64
 */
export function float64ReferenceOf(bound: AnyBound, dtype: Dtype): AnyBound {
  return (bound.float64Reference?.(dtype) as AnyBound | undefined) ?? bound;
}

/**
 * The same inputs in float64, with the values they have (float32 values widened exactly):
 * the reference a float32 or mixed-dtype run is compared with, "on the same inputs".
 */
export function widened(inputs: RunInputs): RunInputs {
  const wide = (t: Tensor): Tensor => toContiguous(t, 'float64');
  return {
    x: wide(inputs.x),
    params: convertRecord(inputs.params, () => 'float64'),
    state: convertRecord(inputs.state, () => 'float64'),
    dy: wide(inputs.dy),
  };
}

/** A float64 tensor over a copy of `values`. */
export function float64Tensor(values: Float64Array, shape: readonly number[]): Tensor {
  return tensor(values.slice(), shape);
}
