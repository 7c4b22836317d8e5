import type { NdArray } from 'ndarray';
import { NormkitError, describeValue } from './errors.js';
import { StridedTensor } from './strided-tensor.js';
import { flattenNested } from './nested.js';
import type { NestedNumbers } from './nested.js';

/** The floating-point dtypes normkit computes in. */
export type Dtype = 'float32' | 'float64';

/** A typed array of one of the supported dtypes. */
export type FloatArray = Float32Array | Float64Array;

/**
 * normkit's currency: an `ndarray` view over a `Float32Array` or `Float64Array`,
 * with any shape, strides and offset. normkit returns its own {@link StridedTensor}s (no
 * `new Function`, so they work under a strict Content-Security-Policy) and accepts any
 * object of this shape, also one made by the `ndarray` package.
 */
export type Tensor = NdArray<FloatArray>;

/** A shape: the size of each axis, outermost first. */
export type Shape = readonly number[];

/**
 * The typed-array constructor for a dtype.
 *
 * @param dtype - `'float32'` or `'float64'`
 * @returns `Float32Array` or `Float64Array`
 */
export function arrayTypeOf(dtype: Dtype): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'float32' ? Float32Array : Float64Array;
}

/**
 * The dtype of a typed array or tensor.
 *
 * @param data - a `Float32Array`, a `Float64Array`, or a tensor over one
 * @returns `'float32'` for a `Float32Array`, `'float64'` otherwise
 */
export function dtypeOf(data: FloatArray | Tensor): Dtype {
  const buffer = ArrayBuffer.isView(data) ? data : data.data;
  return buffer instanceof Float32Array ? 'float32' : 'float64';
}

/**
 * The number of elements of a shape: $`\prod_k \mathrm{shape}_k`$ (1 for a 0-d shape).
 *
 * @param shape - the size of each axis
 * @returns the product of the sizes
 */
export function sizeOf(shape: Shape): number {
  let size = 1;
  for (let k = 0; k < shape.length; k++) size *= shape[k];
  return size;
}

/**
 * Row-major (C order) strides for a shape: $`\mathrm{stride}_k = \prod_{j > k} \mathrm{shape}_j`$.
 *
 * @param shape - the size of each axis
 * @returns one stride per axis, in elements (the last is 1)
 */
export function rowMajorStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = stride;
    stride *= shape[k];
  }
  return strides;
}

/**
 * The dtype the tensor helpers ({@link tensor} on plain numbers, {@link fromArray},
 * {@link zeros}, {@link ones}, {@link full}) and the layers use when none is given:
 * `'float32'`, as PyTorch's `torch.get_default_dtype()` and TF.js. normkit follows PyTorch's
 * conventions throughout, so a tensor and a layer made with defaults work together; float32
 * halves the memory and is what the `@normkit/wasm` SIMD kernels run. Ask for `'float64'`
 * where you want exact results (the gradient checker and the PyTorch vectors do).
 */
export const DEFAULT_DTYPE: Dtype = 'float32';

/**
 * A new row-major tensor from plain numbers nested as arrays, one level per axis: the shape
 * is read from the nesting (`[[1, 2, 3], [4, 5, 6]]` has shape `[2, 3]`; a number is a 0-d
 * tensor), and the values are **copied** into a new typed array of `dtype`.
 *
 * @param values - nested arrays of numbers, rectangular
 * @param dtype - `'float32'` (default, {@link DEFAULT_DTYPE}) or `'float64'`
 * @returns the tensor (offset 0, row-major strides)
 * @throws NormkitError `E_SHAPE` for ragged nested arrays; `E_DTYPE` for an entry that is not
 *   a number; `E_OPTION` for a bad dtype
 * @example
 * ```ts
 * const x = tensor([[1, 2, 3], [4, 5, 6]]); // float32, shape [2, 3]
 * x.get(1, 0); // 4
 * ```
 */
export function tensor(values: NestedNumbers, dtype?: Dtype): Tensor;
/**
 * Wraps a `Float32Array` or `Float64Array` as a row-major tensor of the given shape, with
 * **no copy**: the tensor is a view over `data`.
 *
 * @param data - the values in row-major order; `data.length` must equal Π shape
 * @param shape - the shape; defaults to `[data.length]`
 * @returns a view over `data` with row-major strides and offset 0
 * @throws NormkitError `E_SHAPE` when the length does not match the shape
 * @example
 * ```ts
 * const w = tensor(new Float64Array([1, 2, 3, 4]), [2, 2]);
 * ```
 */
export function tensor(data: FloatArray, shape?: Shape): Tensor;
export function tensor(values: NestedNumbers | FloatArray, shapeOrDtype?: Shape | Dtype): Tensor {
  if (values instanceof Float32Array || values instanceof Float64Array) {
    const shape = (shapeOrDtype ?? [values.length]) as Shape;
    if (!Array.isArray(shape)) {
      throw new NormkitError('E_SHAPE', `shape: expected an array of sizes for a typed array, got ${describeValue(shape)}`, 'shape');
    }
    return wrap(values, shape);
  }
  if (typeof values !== 'number' && !Array.isArray(values)) {
    throw new NormkitError(
      'E_DTYPE',
      `values: expected a number, nested arrays of numbers, a Float32Array or a Float64Array, got ${describeValue(values)}` +
        (ArrayBuffer.isView(values) ? `; convert it with fromArray(Array.from(values), shape, dtype)` : ''),
      'values',
    );
  }
  const dtype = checkDtype(shapeOrDtype === undefined ? DEFAULT_DTYPE : shapeOrDtype, 'dtype');
  const { shape, flat } = flattenNested(values, 'values');
  return wrap(arrayTypeOf(dtype).from(flat), shape);
}

function wrap(data: FloatArray, shape: Shape): Tensor {
  checkShape(shape, 'shape');
  const size = sizeOf(shape);
  if (data.length !== size) {
    throw new NormkitError(
      'E_SHAPE',
      `data: expected ${size} values for shape [${shape.join(', ')}], got ${data.length}`,
      'data',
    );
  }
  return new StridedTensor(data, shape.slice(), rowMajorStrides(shape), 0);
}

/** `shape` when it is an array of non-negative integers. */
function checkShape(shape: unknown, name: string): Shape {
  let valid = Array.isArray(shape);
  for (let k = 0; valid && k < (shape as unknown[]).length; k++) {
    const n = (shape as unknown[])[k];
    valid = typeof n === 'number' && Number.isInteger(n) && n >= 0;
  }
  if (!valid) {
    const hint = typeof shape === 'number' ? ` (a shape is an array: [${shape}])` : '';
    const got = Array.isArray(shape) && shape.length <= 16 ? `[${shape.map((n) => (typeof n === 'number' ? String(n) : describeValue(n))).join(', ')}]` : describeValue(shape);
    throw new NormkitError('E_SHAPE', `${name}: expected an array of non-negative integer sizes, got ${got}${hint}`, name);
  }
  return shape as Shape;
}

function checkDtype(dtype: unknown, name: string): Dtype {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new NormkitError('E_OPTION', `${name}: expected 'float32' or 'float64', got ${Array.isArray(dtype) ? `${describeValue(dtype)} (a shape: for nested arrays the shape comes from the nesting)` : describeValue(dtype)}`, name);
  }
  return dtype;
}

/**
 * A new row-major tensor filled with `value`.
 *
 * @param shape - the shape
 * @param dtype - `'float32'` (default, {@link DEFAULT_DTYPE}) or `'float64'`
 * @param value - the fill value (default 0)
 * @returns a tensor over a new typed array
 * @throws NormkitError `E_SHAPE` when `shape` is not an array of non-negative integers, or
 *   has more elements than a typed array can hold; `E_OPTION` for a dtype other than
 *   `'float32'` / `'float64'`
 */
export function full(shape: Shape, dtype: Dtype = DEFAULT_DTYPE, value = 0): Tensor {
  const Ctor = arrayTypeOf(checkDtype(dtype, 'dtype'));
  const size = sizeOf(checkShape(shape, 'shape'));
  let data: FloatArray;
  try {
    data = new Ctor(size);
  } catch (e) {
    // new Float32Array(2 ** 53) throws RangeError: say which tensor could not be made (an option such as numFeatures: 1e300, say).
    if (!(e instanceof RangeError)) throw e;
    const why = /allocation failed/i.test(e.message) ? 'could not be allocated (out of memory)' : `are more than a ${dtype} typed array can hold`;
    throw new NormkitError('E_SHAPE', `shape: ${size} elements (shape ${formatShape(shape)}) ${why} (${e.message})`, 'shape');
  }
  if (value !== 0) data.fill(value);
  return wrap(data, shape);
}

/**
 * A new row-major tensor of zeros. See {@link full}.
 *
 * @param shape - the shape
 * @param dtype - `'float32'` (default, {@link DEFAULT_DTYPE}) or `'float64'`
 * @returns a tensor over a new, zero-filled typed array
 * @throws NormkitError as {@link full}
 */
export function zeros(shape: Shape, dtype: Dtype = DEFAULT_DTYPE): Tensor {
  return full(shape, dtype, 0);
}

/**
 * A new row-major tensor of ones. See {@link full}.
 *
 * @param shape - the shape
 * @param dtype - `'float32'` (default, {@link DEFAULT_DTYPE}) or `'float64'`
 * @returns a tensor over a new typed array filled with 1
 * @throws NormkitError as {@link full}
 */
export function ones(shape: Shape, dtype: Dtype = DEFAULT_DTYPE): Tensor {
  return full(shape, dtype, 1);
}

/**
 * A new row-major tensor from plain numbers in row-major order (copied, and rounded for
 * `'float32'`). For nested arrays, {@link tensor} reads the shape from the nesting.
 *
 * @param values - the values in row-major order (an array or a typed array)
 * @param shape - the shape; defaults to `[values.length]`
 * @param dtype - `'float32'` (default, {@link DEFAULT_DTYPE}) or `'float64'`
 * @returns a tensor over a new typed array
 * @throws NormkitError `E_SHAPE` when `values.length` is not Π shape; `E_OPTION` for a bad dtype
 * @example
 * ```ts
 * const x = fromArray([1, 2, 3, 4, 5, 6], [2, 3]); // float32
 * ```
 */
export function fromArray(values: ArrayLike<number>, shape?: Shape, dtype?: Dtype): Tensor;
/**
 * A new 1-d tensor from plain numbers, in `dtype` (the shorthand for `fromArray(values,
 * [values.length], dtype)`).
 *
 * @param values - the values (an array or a typed array)
 * @param dtype - `'float32'` or `'float64'`
 * @returns a tensor of shape `[values.length]` over a new typed array
 * @throws NormkitError `E_OPTION` for a bad dtype
 * @example
 * ```ts
 * const v = fromArray([0.1, 0.2], 'float64');
 * ```
 */
export function fromArray(values: ArrayLike<number>, dtype: Dtype): Tensor;
export function fromArray(values: ArrayLike<number>, shapeOrDtype?: Shape | Dtype, dtype: Dtype = DEFAULT_DTYPE): Tensor {
  const dtypeOnly = typeof shapeOrDtype === 'string';
  const resolved = checkDtype(dtypeOnly ? shapeOrDtype : dtype, 'dtype');
  const shape: Shape = dtypeOnly || shapeOrDtype === undefined ? [values.length] : shapeOrDtype;
  return wrap(arrayTypeOf(resolved).from(values), shape);
}

/**
 * The largest typed array (in bytes) V8 allocates on its own heap; larger ones get a backing
 * store outside it, which costs microseconds to create. Taking a `subarray` (or the `buffer`)
 * of an on-heap array moves it out too.
 */
export const ON_HEAP_TYPED_ARRAY_BYTES = 64;

/**
 * Tensors of one shape and dtype over consecutive parts of **one** new typed array: the
 * values of `sources[i]` (rounded once to `dtype`) become the i-th tensor. Each tensor's `data`
 * is a `subarray` of the shared array (offset 0 within its own view) unless each is at most
 * {@link ON_HEAP_TYPED_ARRAY_BYTES} long, when each gets its own array; use
 * `data.byteOffset`/`data.byteLength`, not `data.buffer` alone, when reading its bytes.
 *
 * Why: a typed array of more than 64 bytes is allocated outside V8's heap, and each costs
 * microseconds (3–5 µs on our benchmark machine against ~0.2 µs for a view), which dominated
 * a small batch-norm step. The per-channel results of one call (the next running mean and
 * variance, the gradients of γ and β) are created together here.
 *
 * @param sources - the values of each tensor, each of `Π shape` values
 * @param shape - the shape of every tensor
 * @param dtype - `'float32'` or `'float64'`
 * @returns one tensor per source, in order
 */
export function packedTensors(sources: readonly ArrayLike<number>[], shape: Shape, dtype: Dtype): Tensor[] {
  const size = sizeOf(shape);
  sources.forEach((source, i) => {
    if (source.length !== size) {
      throw new NormkitError('E_SHAPE', `sources[${i}]: expected ${size} values for shape [${shape.join(', ')}], got ${source.length}`, 'sources');
    }
  });
  const ArrayType = arrayTypeOf(checkDtype(dtype, 'dtype'));
  // Up to 64 bytes V8 keeps a typed array on its heap, where it is cheap, and a subarray of it
  // would move it off the heap: small parts get arrays of their own.
  const packed = size * ArrayType.BYTES_PER_ELEMENT <= ON_HEAP_TYPED_ARRAY_BYTES ? null : new ArrayType(size * sources.length);
  const tensors: Tensor[] = [];
  for (let i = 0; i < sources.length; i++) {
    const part = packed === null ? new ArrayType(size) : packed.subarray(i * size, (i + 1) * size);
    part.set(sources[i]);
    tensors.push(new StridedTensor(part, shape.slice(), rowMajorStrides(shape), 0));
  }
  return tensors;
}

/**
 * Is the view row-major contiguous: its elements fill `data[offset .. offset+size)` in C order?
 * Axes of size 1 may have any stride.
 *
 * @param t - the tensor
 * @returns whether `t`'s strides are the row-major strides of its shape
 */
export function isContiguous(t: Tensor): boolean {
  return isRowMajor(t.shape, t.stride);
}

/**
 * Are `strides` the row-major (C order) strides of `shape`? Axes of size 1 may have any
 * stride. The raw form of {@link isContiguous}, for kernels that take `(shape, strides)`.
 *
 * @param shape - the view's shape
 * @param strides - the view's strides, one per axis
 * @returns whether `strides` equals {@link rowMajorStrides} of `shape` on every axis of size > 1
 */
export function isRowMajor(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1 && strides[k] !== expected) return false;
    expected *= shape[k];
  }
  return true;
}

/**
 * A new row-major tensor with the same shape and values as `t`, in `dtype`
 * (default: the dtype of `t`). Works for any strides.
 *
 * @param t - the tensor to copy
 * @param dtype - the dtype of the copy (default: `t`'s)
 * @returns a row-major copy with offset 0
 * @throws NormkitError `E_DTYPE` / `E_SHAPE` when `t` is not a tensor; `E_OPTION` for a bad dtype
 */
export function toContiguous(t: Tensor, dtype?: Dtype): Tensor {
  assertTensor(t, 't', { allowEmpty: true });
  const shape = t.shape.slice();
  const out = zeros(shape, dtype === undefined ? dtypeOf(t) : checkDtype(dtype, 'dtype'));
  copyInto(t, out);
  return out;
}

/**
 * `t` in another dtype: `t` itself when it already has it, else a row-major copy (float64 →
 * float32 rounds to nearest). The explicit conversion normkit asks for where PyTorch would
 * raise on mixed dtypes.
 *
 * @param t - the tensor (any strides)
 * @param dtype - `'float32'` or `'float64'`
 * @returns `t`, or a converted row-major copy
 * @throws NormkitError `E_DTYPE` / `E_SHAPE` when `t` is not a tensor; `E_OPTION` for a bad dtype
 * @example
 * ```ts
 * const y = bn.forward(toDtype(x64, 'float32'));
 * ```
 */
export function toDtype(t: Tensor, dtype: Dtype): Tensor {
  assertTensor(t, 't', { allowEmpty: true });
  return dtypeOf(t) === checkDtype(dtype, 'dtype') ? t : toContiguous(t, dtype);
}

/**
 * A copy of `t`'s values, in row-major order, as a plain typed array of its dtype.
 *
 * @param t - the tensor (any strides)
 * @returns a new `Float32Array` or `Float64Array` of Π shape values
 * @throws NormkitError `E_DTYPE` / `E_SHAPE` when `t` is not a tensor
 */
export function toTypedArray(t: Tensor): FloatArray {
  assertTensor(t, 't', { allowEmpty: true });
  if (isContiguous(t)) {
    return t.data.slice(t.offset, t.offset + sizeOf(t.shape));
  }
  return toContiguous(t).data;
}

/**
 * Copies every element of `source` into `target` (same shape, any strides, any dtypes).
 *
 * @param source - the tensor read
 * @param target - the tensor written, of `source`'s shape
 * @throws NormkitError `E_SHAPE` when the shapes differ
 */
export function copyInto(source: Tensor, target: Tensor): void {
  assertSameShape(target, source.shape, 'target');
  const rank = source.shape.length;
  const size = sizeOf(source.shape);
  if (size === 0) return;
  const shape = source.shape;
  const src = source.data;
  const dst = target.data;
  const sStride = source.stride;
  const tStride = target.stride;
  const index = new Array<number>(rank).fill(0);
  let pS = source.offset;
  let pT = target.offset;
  const inner = rank === 0 ? 1 : shape[rank - 1];
  const sInner = rank === 0 ? 0 : sStride[rank - 1];
  const tInner = rank === 0 ? 0 : tStride[rank - 1];
  for (let done = 0; done < size; done += inner) {
    for (let i = 0, ps = pS, pt = pT; i < inner; i++, ps += sInner, pt += tInner) dst[pt] = src[ps];
    for (let k = rank - 2; k >= 0; k--) {
      index[k]++;
      pS += sStride[k];
      pT += tStride[k];
      if (index[k] < shape[k]) break;
      pS -= sStride[k] * shape[k];
      pT -= tStride[k] * shape[k];
      index[k] = 0;
    }
  }
}

/**
 * A deep copy of a tensor (same shape, dtype and values; row-major).
 *
 * @param t - the tensor (any strides)
 * @returns a new row-major tensor; changing it does not change `t`
 */
export function clone(t: Tensor): Tensor {
  return toContiguous(t);
}

/**
 * Are two shapes equal, axis by axis?
 *
 * @param a - a shape
 * @param b - another shape
 * @returns whether they have the same rank and the same size on every axis
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Formats a shape for messages: `[2, 3]` → `"[2, 3]"`.
 *
 * @param shape - the shape
 * @returns the sizes in brackets, comma-separated
 */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Is `value` a tensor normkit computes on: an ndarray-like object over a
 * `Float32Array` or `Float64Array` with array `shape` and `stride` and a numeric `offset`?
 * (A structural check only; {@link assertTensor} also checks the strides against the buffer.)
 *
 * @param value - anything
 * @returns whether `value` can be used as a {@link Tensor}
 */
export function isTensor(value: unknown): value is Tensor {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Partial<Tensor>;
  return (
    (t.data instanceof Float32Array || t.data instanceof Float64Array) &&
    Array.isArray(t.shape) &&
    Array.isArray(t.stride) &&
    typeof t.offset === 'number'
  );
}

/** Options of {@link assertTensor}. */
export interface TensorCheck {
  /** The exact rank required. */
  readonly rank?: number;
  /** The smallest rank allowed. */
  readonly minRank?: number;
  /** The exact shape required. */
  readonly shape?: Shape;
  /** The dtype required. */
  readonly dtype?: Dtype;
  /** Allow axes of size 0 (default false). */
  readonly allowEmpty?: boolean;
}

/**
 * Checks that `value` is a float tensor of the expected rank, shape and dtype, and
 * that its strides address only elements inside its buffer.
 *
 * @param value - what the caller handed in
 * @param name - the argument name, for the message (e.g. `"x"`, `"params.weight"`)
 * @param check - the expectations
 * @returns `value`, typed as a {@link Tensor}
 * @throws NormkitError `E_DTYPE` for anything but a Float32/Float64 ndarray;
 *   `E_SHAPE` for a wrong rank or shape, empty axes, or strides outside the buffer
 */
export function assertTensor(value: unknown, name: string, check: TensorCheck = {}): Tensor {
  if (!isTensor(value)) {
    const ndarrayLike = typeof value === 'object' && value !== null && 'data' in value;
    const what = ndarrayLike ? `an ndarray over ${describeValue((value as { data: unknown }).data)}` : describeValue(value);
    throw new NormkitError('E_DTYPE', `${name}: expected an ndarray over a Float32Array or Float64Array, got ${what}${conversionHint(value, ndarrayLike)}`, name);
  }
  const t = value;
  const { shape, stride } = t;
  if (stride.length !== shape.length) {
    throw new NormkitError('E_SHAPE', `${name}: has ${shape.length} axes but ${stride.length} strides`, name);
  }
  for (let k = 0; k < shape.length; k++) {
    if (!Number.isInteger(shape[k]) || shape[k] < 0 || !Number.isInteger(stride[k])) {
      throw new NormkitError('E_SHAPE', `${name}: shape ${formatShape(shape)} / strides ${formatShape(stride)} are not non-negative integers`, name);
    }
  }
  if (check.dtype !== undefined && dtypeOf(t) !== check.dtype) {
    throw new NormkitError('E_DTYPE', `${name}: expected dtype ${check.dtype}, got ${dtypeOf(t)}`, name);
  }
  if (check.rank !== undefined && shape.length !== check.rank) {
    throw new NormkitError('E_SHAPE', `${name}: expected rank ${check.rank}, got rank ${shape.length} (shape ${formatShape(shape)})`, name);
  }
  if (check.minRank !== undefined && shape.length < check.minRank) {
    throw new NormkitError('E_SHAPE', `${name}: expected rank ≥ ${check.minRank}, got rank ${shape.length} (shape ${formatShape(shape)})`, name);
  }
  if (check.shape !== undefined && !shapesEqual(shape, check.shape)) {
    throw new NormkitError('E_SHAPE', `${name}: expected shape ${formatShape(check.shape)}, got ${formatShape(shape)}`, name);
  }
  const size = sizeOf(shape);
  if (size === 0) {
    if (check.allowEmpty !== true) {
      throw new NormkitError('E_SHAPE', `${name}: expected a non-empty tensor, got shape ${formatShape(shape)}`, name);
    }
    return t;
  }
  // Every addressed element must lie in the buffer.
  let lowest = t.offset;
  let highest = t.offset;
  for (let k = 0; k < shape.length; k++) {
    const span = stride[k] * (shape[k] - 1);
    if (span < 0) lowest += span;
    else highest += span;
  }
  if (!Number.isInteger(t.offset) || lowest < 0 || highest >= t.data.length) {
    throw new NormkitError(
      'E_SHAPE',
      `${name}: shape ${formatShape(shape)} with strides ${formatShape(stride)} and offset ${t.offset} addresses elements outside its buffer of ${t.data.length}`,
      name,
    );
  }
  return t;
}

/**
 * Checks that a tensor has the given shape.
 *
 * @param t - the tensor
 * @param shape - the shape it must have
 * @param name - the argument name, for the message
 * @throws NormkitError `E_SHAPE` naming `name`, the expected and the actual shape
 */
export function assertSameShape(t: Tensor, shape: Shape, name: string): void {
  if (!shapesEqual(t.shape, shape)) {
    throw new NormkitError('E_SHAPE', `${name}: expected shape ${formatShape(shape)}, got ${formatShape(t.shape)}`, name);
  }
}

/**
 * Checks that every element of `t` is finite.
 *
 * @param t - the tensor (any strides)
 * @param name - the argument name, for the message
 * @throws NormkitError `E_NONFINITE` naming the first non-finite element's multi-index
 */
export function assertFinite(t: Tensor, name: string): void {
  const index = firstNonFinite(t);
  if (index !== null) {
    const value = elementAt(t, index);
    throw new NormkitError(
      'E_NONFINITE',
      `${name}: expected finite values, got ${Number.isNaN(value) ? 'NaN' : value} at index [${index.join(', ')}]`,
      name,
    );
  }
}

/**
 * The element of `t` at a multi-index, read from its buffer through its strides (works for
 * any ndarray-like view, also one without a `get` method).
 *
 * @param t - the tensor
 * @param index - one index per axis
 * @returns `t.data[t.offset + Σ index[k]·t.stride[k]]`
 */
export function elementAt(t: Tensor, index: readonly number[]): number {
  let p = t.offset;
  for (let k = 0; k < index.length; k++) p += index[k] * t.stride[k];
  return t.data[p];
}

/**
 * The multi-index of the first NaN or ±Infinity in `t` (row-major order), or `null`.
 *
 * @param t - the tensor (any strides)
 * @returns the index, one entry per axis, or `null` when every element is finite
 */
export function firstNonFinite(t: Tensor): number[] | null {
  const { data, shape, stride } = t;
  const rank = shape.length;
  const size = sizeOf(shape);
  if (size === 0) return null;
  if (isContiguous(t)) {
    const end = t.offset + size;
    for (let p = t.offset; p < end; p++) {
      const v = data[p];
      if (v - v !== 0) return unravel(p - t.offset, shape);
    }
    return null;
  }
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < size; flat++) {
    let p = t.offset;
    for (let k = 0; k < rank; k++) p += index[k] * stride[k];
    const v = data[p];
    if (v - v !== 0) return index.slice();
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  return null;
}

/**
 * The multi-index of row-major flat position `flat` in `shape` (the inverse of
 * $`\mathrm{flat} = \sum_k \mathrm{index}_k \cdot \mathrm{stride}_k`$ with row-major strides).
 *
 * @param flat - a position in `[0, Π shape)`
 * @param shape - the shape
 * @returns one index per axis
 */
export function unravel(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    index[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return index;
}

/**
 * Normalizes a possibly negative axis (`-1` = last) for a tensor of `rank`.
 *
 * @param axis - the axis as given, in [−rank, rank)
 * @param rank - the tensor's rank
 * @param name - the option name, for the message (e.g. `"options.channelAxis"`)
 * @returns the axis in [0, rank): `axis + rank` for a negative one
 * @throws NormkitError `E_OPTION` when the axis is not an integer in [−rank, rank)
 */
export function normalizeAxis(axis: number, rank: number, name: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new NormkitError('E_OPTION', `${name}: expected an integer axis in [${-rank}, ${rank - 1}], got ${describeValue(axis)}`, name);
  }
  return axis < 0 ? axis + rank : axis;
}

/** How to turn what came into a tensor, for {@link assertTensor}'s message. */
function conversionHint(value: unknown, ndarrayLike: boolean): string {
  if (Array.isArray(value) || typeof value === 'number') {
    return "; convert plain numbers with tensor(values) (nested arrays, e.g. tensor([[1, 2], [3, 4]])) or fromArray(values, shape) from '@normkit/core'";
  }
  if (value instanceof Float32Array || value instanceof Float64Array) {
    return "; wrap a typed array with tensor(data, shape) from '@normkit/core'";
  }
  if (ArrayBuffer.isView(value) || ndarrayLike) {
    return "; copy it into a float tensor with fromArray(Array.from(values), shape) from '@normkit/core'";
  }
  return '';
}
