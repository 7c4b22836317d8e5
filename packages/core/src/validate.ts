import { NormkitError, describeValue } from './errors.js';
import type { Mode, TensorMap } from './normalizer.js';
import { assertMode } from './options.js';
import { byteRange } from './out.js';
import type { Dtype, Shape, Tensor } from './tensor.js';
import { arrayTypeOf, assertTensor, dtypeOf, formatShape, isContiguous, isTensor, shapesEqual, sizeOf, tensor } from './tensor.js';
import { assertTensorMap } from './tensor-map.js';
import type { Float64Scratch } from './engine/scratch.js';

/** What {@link checkForward} needs to know about a plugin. */
export interface ForwardSpec {
  /** The plugin name, for messages (e.g. `"batch-norm"`). */
  readonly plugin: string;
  /** The smallest rank `x` may have (default 1). */
  readonly minRank?: number;
  /**
   * A plugin-specific check of `x`'s shape: `null` when it fits, else the sentence after
   * `x: ` saying what was expected and what came (thrown as `E_SHAPE`).
   */
  readonly checkShape?: (shape: Shape) => string | null;
  /** Parameter name → shape (absent: no such parameter). */
  readonly paramShapes: Readonly<Record<string, Shape | undefined>>;
  /** State name → shape. */
  readonly stateShapes: Readonly<Record<string, Shape | undefined>>;
  /** State entries that are integer counters stored as float64 whatever the dtype (e.g. `numBatchesTracked`). */
  readonly counters?: readonly string[];
  /**
   * Accept an empty `x` (an axis of size 0), and then an empty `out` (default `false`: refused
   * with `E_SHAPE`). For plugins that give an empty input a meaning: sync batch norm's
   * participant with no share of the batch still joins the collective steps.
   */
  readonly allowEmpty?: boolean;
}

/** The checked arguments of a forward call. */
export interface CheckedForward<P extends string = string, S extends string = string> {
  /** The input. */
  readonly x: Tensor;
  /** Its dtype; the parameters and floating state share it. */
  readonly dtype: Dtype;
  /**
   * The parameters present, by name: typed by the plugin's parameter names when the arguments
   * are (`params.wieght` is a compile error). An entry the options switch off is absent at run
   * time although typed present: test it against `undefined` where options allow that.
   */
  readonly params: Readonly<Record<P, Tensor>>;
  /** The state entries present, by name (typed as `params`). */
  readonly state: Readonly<Record<S, Tensor>>;
  /** The mode. */
  readonly mode: Mode;
  /** Where `y` goes: the caller's `out` (checked) as a view starting at index 0, or `undefined`. */
  readonly out: Tensor | undefined;
}

/**
 * The one validation path of every forward call, run before anything is computed:
 *
 * - `x`: a Float32/Float64 ndarray, non-empty (unless `allowEmpty`), strides inside its
 *   buffer, rank ≥ `minRank`, and the plugin's own shape check (`E_DTYPE` / `E_SHAPE`);
 * - `mode`: `'train'` or `'eval'` (`E_OPTION`);
 * - `params` and `state`: exactly the expected names with the expected shapes (`E_STATE`,
 *   `E_SHAPE`), parameters and floating state **in `x`'s dtype** (`E_DTYPE`, naming both
 *   dtypes and the way out), counters in float64;
 * - `out`: `x`'s shape and dtype, row-major, and no memory shared with `x`, a parameter or a
 *   state entry (`E_SHAPE` / `E_DTYPE`).
 *
 * @param args - the forward arguments as handed in
 * @param spec - what the plugin expects
 * @returns the checked arguments
 * @throws NormkitError as listed above
 */
export function checkForward<P extends string, S extends string>(
  args: { readonly x: unknown; readonly params: TensorMap<P>; readonly state: TensorMap<S>; readonly mode: unknown; readonly out?: unknown },
  spec: ForwardSpec,
): CheckedForward<P, S>;
/** Arguments of no known type (a plain JavaScript caller): the checked maps are keyed by `string`. */
export function checkForward(
  args: { readonly x: unknown; readonly params: unknown; readonly state: unknown; readonly mode: unknown; readonly out?: unknown },
  spec: ForwardSpec,
): CheckedForward;
export function checkForward(
  args: { readonly x: unknown; readonly params: unknown; readonly state: unknown; readonly mode: unknown; readonly out?: unknown },
  spec: ForwardSpec,
): CheckedForward {
  if (typeof args !== 'object' || args === null) {
    throw new NormkitError('E_STATE', `${spec.plugin} forward: expected an arguments object { x, params, state, mode }, got ${describeValue(args)}`, 'args');
  }
  const x = assertTensor(args.x, 'x', { minRank: spec.minRank ?? 1, allowEmpty: spec.allowEmpty === true });
  const problem = spec.checkShape?.(x.shape) ?? null;
  if (problem !== null) throw new NormkitError('E_SHAPE', `x: ${problem}`, 'x');
  const mode = assertMode(args.mode, spec.plugin);
  const dtype = dtypeOf(x);
  const params = assertTensorMap(args.params, spec.paramShapes, 'params');
  for (const [name, p] of Object.entries(params)) checkSameDtype(p, `params.${name}`, dtype);
  const state = assertTensorMap(args.state, spec.stateShapes, 'state');
  const counters = spec.counters ?? [];
  for (const [name, s] of Object.entries(state)) {
    if (counters.includes(name)) {
      if (dtypeOf(s) !== 'float64') {
        throw new NormkitError('E_DTYPE', `state.${name}: expected a float64 counter, got ${dtypeOf(s)}`, `state.${name}`);
      }
    } else checkSameDtype(s, `state.${name}`, dtype);
  }
  const out = args.out === undefined ? undefined : checkOut(args.out, x.shape, dtype, [x, ...Object.values(params), ...Object.values(state)]);
  return { x, dtype, params, state, mode, out };
}

/** The checked arguments of a backward call. */
export interface CheckedBackward<P extends string = string> {
  /** The upstream gradient (float32 or float64, of the forward input's shape). */
  readonly dy: Tensor;
  /** The parameters present, by name (typed as {@link CheckedForward.params}). */
  readonly params: Readonly<Record<P, Tensor>>;
  /** Where `dx` goes: the caller's `out` (checked), or `undefined`. */
  readonly out: Tensor | undefined;
}

/**
 * The one validation path of every backward call: `dy` a float tensor of the forward input's
 * shape (either dtype: `dx` follows `x`'s; empty when that input was, see `allowEmpty`), the parameters as in forward, and `out` with `x`'s
 * shape and dtype, row-major, sharing no memory with `x`, `dy` or a parameter.
 *
 * @param args - the backward arguments as handed in (`saved` already checked by the plugin)
 * @param x - the forward input (from `saved`)
 * @param spec - the plugin name and parameter shapes
 * @returns the checked arguments
 * @throws NormkitError `E_DTYPE` / `E_SHAPE` / `E_STATE`
 */
export function checkBackward<P extends string>(
  args: { readonly dy: unknown; readonly params: TensorMap<P>; readonly out?: unknown },
  x: Tensor,
  spec: Pick<ForwardSpec, 'plugin' | 'paramShapes'>,
): CheckedBackward<P>;
/** Arguments of no known type (a plain JavaScript caller): the checked map is keyed by `string`. */
export function checkBackward(args: { readonly dy: unknown; readonly params: unknown; readonly out?: unknown }, x: Tensor, spec: Pick<ForwardSpec, 'plugin' | 'paramShapes'>): CheckedBackward;
export function checkBackward(
  args: { readonly dy: unknown; readonly params: unknown; readonly out?: unknown },
  x: Tensor,
  spec: Pick<ForwardSpec, 'plugin' | 'paramShapes'>,
): CheckedBackward {
  if (typeof args !== 'object' || args === null) {
    throw new NormkitError('E_STATE', `${spec.plugin} backward: expected an arguments object { dy, params, saved }, got ${describeValue(args)}`, 'args');
  }
  const dy = assertTensor(args.dy, 'dy', { allowEmpty: sizeOf(x.shape) === 0 });
  if (!shapesEqual(dy.shape, x.shape)) {
    throw new NormkitError('E_SHAPE', `dy: expected the shape of the forward input ${formatShape(x.shape)}, got ${formatShape(dy.shape)}`, 'dy');
  }
  const dtype = dtypeOf(x);
  const params = assertTensorMap(args.params, spec.paramShapes, 'params');
  for (const [name, p] of Object.entries(params)) checkSameDtype(p, `params.${name}`, dtype);
  const out = args.out === undefined ? undefined : checkOut(args.out, x.shape, dtype, [x, dy, ...Object.values(params)]);
  return { dy, params, out };
}

function checkSameDtype(t: Tensor, name: string, dtype: Dtype): void {
  const got = dtypeOf(t);
  if (got !== dtype) {
    throw new NormkitError(
      'E_DTYPE',
      `${name}: expected ${dtype} to match x, got ${got}; convert the layer with layer.to('${got === 'float32' ? 'float64' : 'float32'}') ` +
        `or the input with toDtype(x, '${got}') (normkit does not promote silently, as PyTorch does not)`,
      name,
    );
  }
}

/**
 * Checks a preallocated output (for an empty `shape`, which only an `allowEmpty` plugin's input
 * has, an empty `out` of that shape and dtype).
 *
 * @param out - what came
 * @param shape - the output shape
 * @param dtype - the output dtype
 * @param inputs - tensors it must not share memory with
 * @returns `out` itself, or a view over the same memory starting at index 0 when `out` starts at an offset
 * @throws NormkitError `E_SHAPE` for another shape, non-row-major strides or shared memory; `E_DTYPE` for another dtype
 */
export function checkOut(out: unknown, shape: Shape, dtype: Dtype, inputs: readonly Tensor[]): Tensor {
  const size = sizeOf(shape);
  // An empty output (of an accepted empty input) holds nothing to overwrite.
  const t = assertTensor(out, 'out', { shape, dtype, allowEmpty: size === 0 });
  if (size === 0) return t;
  if (!isContiguous(t)) {
    throw new NormkitError('E_SHAPE', `out: expected a row-major contiguous tensor of shape ${formatShape(shape)}, got strides ${formatShape(t.stride)}`, 'out');
  }
  const [outStart, outEnd] = byteRange(t);
  for (const input of inputs) {
    if (!isTensor(input) || input.data.buffer !== t.data.buffer) continue;
    const [start, end] = byteRange(input);
    if (start < outEnd && outStart < end) {
      throw new NormkitError('E_SHAPE', 'out: expected memory of its own, got memory shared with an input, a parameter or the state it would overwrite', 'out');
    }
  }
  if (t.offset === 0 && t.data.length === size) return t;
  return tensor(t.data.subarray(t.offset, t.offset + size), shape);
}

/**
 * The output tensor of a call: the checked `out`, or a new row-major tensor.
 *
 * @param out - the checked `out` from {@link checkForward} / {@link checkBackward}, or `undefined`
 * @param shape - the output shape
 * @param dtype - the output dtype
 * @returns `out`, or a new zero-filled tensor
 */
export function outputOf(out: Tensor | undefined, shape: Shape, dtype: Dtype): Tensor {
  return out ?? tensor(new (arrayTypeOf(dtype))(sizeOf(shape)), shape);
}

/**
 * A parameter or state vector as row-major float64 values (a copy).
 *
 * @param t - the tensor (any strides, either dtype)
 * @returns its values, row-major
 */
export function float64Values(t: Tensor): Float64Array {
  return float64ValuesInto(t, new Float64Array(sizeOf(t.shape)));
}

/**
 * An optional parameter's values as row-major float64, in a slot of the caller's
 * {@link Float64Scratch} instead of a new array: for values that live only within one call
 * (γ and β handed to the engine's kernels), valid until that slot is taken again.
 *
 * @param t - the parameter, or `undefined` when it is absent
 * @param scratch - the caller's own scratch
 * @param slot - which of its slots
 * @returns its values, or `null` for an absent parameter
 */
export function paramValues(t: Tensor | undefined, scratch: Float64Scratch, slot: number): Float64Array | null {
  return t === undefined ? null : float64ValuesInto(t, scratch.take(slot, sizeOf(t.shape)));
}

/**
 * {@link float64Values} into a given array (of the tensor's size or more): its first
 * `size(t)` values are overwritten.
 *
 * @param t - the tensor (any strides, either dtype)
 * @param into - where its row-major values go
 * @returns `into`
 */
export function float64ValuesInto(t: Tensor, into: Float64Array): Float64Array {
  const n = sizeOf(t.shape);
  if (isContiguous(t)) {
    // one native conversion (a per-element loop here is polymorphic over the two array types)
    into.set(t.data.subarray(t.offset, t.offset + n));
    return into;
  }
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let p = t.offset;
    for (let k = 0; k < rank; k++) p += index[k] * t.stride[k];
    into[i] = t.data[p];
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < t.shape[k]) break;
      index[k] = 0;
    }
  }
  return into;
}

/** The checked arguments of a second-order (double backward) call. */
export interface CheckedDoubleBackward {
  /** The upstream gradient of the backward call (either float dtype, of the forward input's shape). */
  readonly dy: Tensor;
  /** The parameters present, by name. */
  readonly params: Readonly<Record<string, Tensor>>;
  /** The cotangent of backward's `dx` (either float dtype, of the forward input's shape). */
  readonly ddx: Tensor;
  /** The cotangents of the parameter gradients that were given, by name (absent: zero). */
  readonly dgrads: Readonly<Record<string, Tensor>>;
}

/**
 * The validation path of every `doubleBackward` call: `dy` and `params` as in
 * {@link checkBackward}; `ddx` a float tensor of the forward input's shape (either dtype);
 * `dgrads` absent, or an object whose entries are parameters of these options, each a float
 * tensor of its parameter's shape (either dtype; a missing entry counts as zero).
 *
 * @param args - the arguments as handed in (`saved` already checked by the plugin)
 * @param x - the forward input (from `saved`)
 * @param spec - the plugin name and parameter shapes
 * @returns the checked arguments
 * @throws NormkitError `E_DTYPE` / `E_SHAPE` for a bad tensor, `E_STATE` for a `dgrads` that
 *   is not an object or names no parameter
 */
export function checkDoubleBackward(
  args: { readonly dy: unknown; readonly params: unknown; readonly ddx: unknown; readonly dgrads?: unknown },
  x: Tensor,
  spec: Pick<ForwardSpec, 'plugin' | 'paramShapes'>,
): CheckedDoubleBackward {
  if (typeof args !== 'object' || args === null) {
    throw new NormkitError('E_STATE', `${spec.plugin} doubleBackward: expected an arguments object { dy, params, saved, ddx, dgrads? }, got ${describeValue(args)}`, 'args');
  }
  const { dy, params } = checkBackward({ dy: args.dy, params: args.params }, x, spec);
  const ddx = assertTensor(args.ddx, 'ddx');
  if (!shapesEqual(ddx.shape, x.shape)) {
    throw new NormkitError('E_SHAPE', `ddx: expected the shape of the forward input ${formatShape(x.shape)}, got ${formatShape(ddx.shape)}`, 'ddx');
  }
  const dgrads: Record<string, Tensor> = {};
  if (args.dgrads !== undefined) {
    if (typeof args.dgrads !== 'object' || args.dgrads === null || Array.isArray(args.dgrads)) {
      throw new NormkitError('E_STATE', `dgrads: expected an object of tensors named like the parameters, got ${describeValue(args.dgrads)}`, 'dgrads');
    }
    const names = Object.keys(spec.paramShapes).filter((name) => spec.paramShapes[name] !== undefined);
    for (const [name, value] of Object.entries(args.dgrads as Record<string, unknown>)) {
      if (value === undefined) continue;
      if (!names.includes(name)) {
        throw new NormkitError('E_STATE', `dgrads.${name}: unexpected entry; expected only ${names.length > 0 ? names.join(', ') : '(none)'} for these options`, `dgrads.${name}`);
      }
      dgrads[name] = assertTensor(value, `dgrads.${name}`, { shape: spec.paramShapes[name] });
    }
  }
  return { dy, params, ddx, dgrads };
}
