import { NormkitError, StridedTensor, copyInto, formatShape, rowMajorStrides, sizeOf } from '@normkit/core';
import type { Shape, Tensor } from '@normkit/core';

/** Bytes per WebAssembly page. */
export const WASM_PAGE_BYTES = 65536;

/** The default pool size: 256 MiB (reserved up front, never grown). */
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;

/** Every allocation starts on a 16-byte boundary (one SIMD vector) and is a multiple of 16 bytes. */
export const POOL_ALIGNMENT = 16;

/**
 * Bytes at the start of the memory that the pool never hands out (address 0 stays unused,
 * so a zero pointer never aliases a tensor).
 */
const RESERVED_BYTES = 1024;

/**
 * A float32 tensor whose data is a `Float32Array` view into the pool's WebAssembly memory.
 * It is an ordinary normkit {@link Tensor} (an ndarray) with two extra members.
 */
export type PoolTensor = Tensor & {
  /** The pool that owns the memory. */
  readonly pool: WasmPool;
  /**
   * Returns the memory to the pool. Afterwards the tensor must not be used: the wasm kernels
   * throw `E_STATE` when they meet it (the TypeScript kernels cannot tell, and would read
   * whatever the memory holds by then).
   *
   * @throws NormkitError `E_STATE` when the tensor was already disposed
   */
  dispose(): void;
};

interface Allocation {
  readonly start: number;
  readonly bytes: number;
  /** The tensor's view, or null for the kernels' scratch and copies. */
  view: Float32Array | null;
  tensor: PoolTensor | null;
  scope: Set<Allocation> | null;
}

/** Occupancy of a pool, in bytes. */
export interface PoolStats {
  /** Bytes the pool manages (the memory minus a small reserved header). */
  readonly capacityBytes: number;
  /** Bytes held by live allocations (tensors and kernel scratch). */
  readonly usedBytes: number;
  /** Bytes free. */
  readonly freeBytes: number;
  /** The largest single allocation that would succeed now. */
  readonly largestFreeBytes: number;
  /** Pool tensors not yet disposed. */
  readonly liveTensors: number;
}

function roundUp(bytes: number): number {
  return Math.max(POOL_ALIGNMENT, Math.ceil(bytes / POOL_ALIGNMENT) * POOL_ALIGNMENT);
}

function outOfMemory(bytes: number, stats: PoolStats, what: string): NormkitError {
  return new NormkitError(
    'E_STATE',
    `wasm pool: out of memory: ${what} needs ${bytes} bytes, the largest free block is ${stats.largestFreeBytes} ` +
      `(${stats.freeBytes} of ${stats.capacityBytes} bytes free, ${stats.liveTensors} live tensors); dispose tensors ` +
      `(or use pool.scope) or enable the backend with a larger memoryBytes`,
    'pool',
  );
}

/**
 * A fixed-size arena of float32 tensors in one `WebAssembly.Memory`, reserved up front
 * (`initial = maximum`, never grown: growing would detach every view and slow down all
 * typed-array code in the process). A first-fit free list with coalescing hands out
 * 16-byte-aligned blocks.
 *
 * Lifetime: a pool tensor lives until `t.dispose()` (or `pool.dispose(t)`), or until the
 * end of the {@link WasmPool.scope} it was allocated in, unless the scope returns it.
 */
export class WasmPool {
  /** The memory every pool tensor is a view into. */
  readonly memory: WebAssembly.Memory;
  /** The memory's buffer (an `ArrayBuffer`, or a `SharedArrayBuffer` with two threads). */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** A float32 view over the whole memory. */
  f32: Float32Array;
  /** A float64 view over the whole memory. */
  f64: Float64Array;
  /** Free blocks `[start, bytes]`, sorted by start, never adjacent. */
  private readonly free: Array<[number, number]> = [];
  private readonly live = new Map<number, Allocation>();
  private readonly dead = new WeakSet<object>();
  private readonly scopes: Array<Set<Allocation>> = [];
  private used = 0;
  private tensors = 0;
  private capacity: number;
  /** Grow the memory when an allocation does not fit (the default backend's private pool only). */
  private readonly growable: boolean;

  /**
   * @param memory - the memory; a pool made with `growable: true` grows it, any other never does
   * @param growable - grow the memory when an allocation does not fit. Growing a non-shared memory
   *   detaches its buffer (and every view of it), so only a pool that hands out no tensors — the
   *   default backend's scratch — may grow; a shared memory never detaches.
   */
  constructor(memory: WebAssembly.Memory, growable = false) {
    this.memory = memory;
    this.growable = growable;
    this.buffer = memory.buffer;
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.capacity = this.buffer.byteLength - RESERVED_BYTES;
    this.free.push([RESERVED_BYTES, this.capacity]);
  }

  /**
   * Creates a pool over a new memory of `memoryBytes` (rounded up to whole 64 KiB pages),
   * reserved up front.
   *
   * @param memoryBytes - the pool size (default {@link DEFAULT_MEMORY_BYTES})
   * @param shared - a shared memory (for two threads)
   * @returns the pool
   * @throws NormkitError `E_OPTION` when `memoryBytes` is not a finite number in (0, 4 GiB − 64 KiB]
   * @example
   * ```ts
   * const pool = WasmPool.create(16 * 1024 * 1024);
   * const x = pool.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
   * pool.stats().liveTensors; // 1
   * x.dispose();
   * ```
   */
  static create(memoryBytes: number = DEFAULT_MEMORY_BYTES, shared = false): WasmPool {
    if (!Number.isFinite(memoryBytes) || memoryBytes <= 0 || memoryBytes > 4 * 1024 * 1024 * 1024 - WASM_PAGE_BYTES) {
      throw new NormkitError('E_OPTION', `memoryBytes: expected a size in bytes between 1 and 4 GiB − 64 KiB, got ${memoryBytes}`, 'memoryBytes');
    }
    const pages = Math.ceil(memoryBytes / WASM_PAGE_BYTES);
    return new WasmPool(new WebAssembly.Memory({ initial: pages, maximum: pages, shared }));
  }

  /**
   * Bytes used and free.
   *
   * @returns the pool's occupancy now
   */
  stats(): PoolStats {
    let free = 0;
    let largest = 0;
    for (const [, bytes] of this.free) {
      free += bytes;
      if (bytes > largest) largest = bytes;
    }
    return { capacityBytes: this.capacity, usedBytes: this.used, freeBytes: free, largestFreeBytes: largest, liveTensors: this.tensors };
  }

  /**
   * A new pool tensor of zeros with this shape (float32, row-major).
   *
   * @param shape - the shape
   * @returns the tensor, registered with the innermost open {@link WasmPool.scope}
   * @throws NormkitError `E_STATE` ("wasm pool: out of memory …") when no free block is large enough;
   *   `E_SHAPE` for a shape that is not a list of non-negative integers
   */
  tensor(shape: Shape): PoolTensor {
    checkShape(shape);
    const bytes = sizeOf(shape) * 4;
    const t = this.tryTensor(shape);
    if (t === null) throw outOfMemory(roundUp(bytes), this.stats(), `a tensor of shape ${formatShape(shape)}`);
    return t;
  }

  /**
   * A pool tensor holding a copy of `t`'s values (any dtype, any strides), converted to float32.
   * Copy your inputs in once with this, and the kernels read them in place.
   *
   * @param t - the tensor to copy
   * @returns a new pool tensor of `t`'s shape
   * @throws NormkitError `E_STATE` when the pool is out of memory
   */
  fromTensor(t: Tensor): PoolTensor {
    const out = this.tensor(t.shape);
    copyInto(t, out);
    return out;
  }

  /**
   * A pool tensor from plain numbers (row-major), rounded to float32.
   *
   * @param values - the values in row-major order
   * @param shape - the shape (default `[values.length]`)
   * @returns a new pool tensor
   * @throws NormkitError `E_SHAPE` when `values.length` is not Π shape or the shape is not a list
   *   of non-negative integers; `E_STATE` when the pool is out of memory
   */
  fromArray(values: ArrayLike<number>, shape: Shape = [values.length]): PoolTensor {
    const out = this.tensor(shape);
    if (values.length !== out.data.length) {
      out.dispose();
      throw new NormkitError('E_SHAPE', `values: expected ${out.data.length} values for shape ${formatShape(shape)}, got ${values.length}`, 'values');
    }
    out.data.set(values);
    return out;
  }

  /**
   * A new pool tensor, or `null` when the pool is full.
   *
   * @param shape - the shape (not validated: pass a list of non-negative integers)
   * @param zero - fill with zeros (default); `false` leaves whatever the memory held, for
   *   outputs a kernel overwrites entirely
   * @returns the tensor, or `null` when no free block is large enough
   */
  tryTensor(shape: Shape, zero = true): PoolTensor | null {
    const size = sizeOf(shape);
    const allocation = this.allocate(size * 4);
    if (allocation === null) return null;
    const view = new Float32Array(this.buffer, allocation.start, size);
    if (zero) view.fill(0);
    const t = new StridedTensor(view, shape.slice(), rowMajorStrides(shape), 0) as unknown as PoolTensor;
    Object.defineProperty(t, 'pool', { value: this, enumerable: false });
    Object.defineProperty(t, 'dispose', { value: () => this.dispose(t), enumerable: false });
    allocation.view = view;
    allocation.tensor = t;
    this.tensors++;
    const scope = this.scopes[this.scopes.length - 1];
    if (scope !== undefined) {
      scope.add(allocation);
      allocation.scope = scope;
    }
    return t;
  }

  /**
   * Is `t` a view into this pool's memory (live or disposed)?
   *
   * @param t - any tensor
   * @returns whether `t.data` is a view of the pool's buffer
   */
  owns(t: Tensor): boolean {
    return t.data.buffer === this.buffer;
  }

  /**
   * Is `t` a live (not disposed) pool tensor?
   *
   * @param t - any tensor
   * @returns whether `t`'s data is the data of a live allocation of this pool
   */
  isLive(t: Tensor): boolean {
    if (!this.owns(t) || this.dead.has(t.data)) return false;
    const allocation = this.live.get(t.data.byteOffset);
    return allocation !== undefined && allocation.view === t.data;
  }

  /**
   * Throws `E_STATE` when `t` is a view into this pool that has been disposed.
   *
   * @param t - any tensor, or a strided view of one (tensors outside the pool pass)
   * @param name - the argument name for the message
   * @throws NormkitError `E_STATE` when `t` is a disposed pool tensor
   */
  assertUsable(t: { readonly data: Tensor['data'] }, name: string): void {
    if (t.data.buffer === this.buffer && this.dead.has(t.data)) {
      throw new NormkitError('E_STATE', `${name}: wasm pool tensor used after dispose()`, name);
    }
  }

  /**
   * Frees a pool tensor: the tensor itself, or an ndarray view that shares its data array.
   *
   * @param t - the tensor
   *
   * @throws NormkitError `E_STATE` when it was already disposed, or is not from this pool
   */
  dispose(t: Tensor): void {
    if (!this.owns(t)) throw new NormkitError('E_STATE', 'dispose: expected a tensor of this wasm pool', 'tensor');
    if (this.dead.has(t.data)) throw new NormkitError('E_STATE', 'dispose: wasm pool tensor already disposed', 'tensor');
    const allocation = this.live.get(t.data.byteOffset);
    if (allocation === undefined || allocation.view !== t.data) {
      throw new NormkitError('E_STATE', 'dispose: not a tensor allocated by this pool', 'tensor');
    }
    this.release(allocation);
  }

  /**
   * Runs `fn` and then disposes every pool tensor allocated inside it (by `pool.tensor`,
   * `pool.fromTensor`, `pool.fromArray` or `pool.tryTensor`), except the pool tensors found in
   * its return value (the value itself, or the items/values of a returned array or plain
   * object, up to three levels deep), which move to the enclosing scope. Scopes nest; `fn`
   * must be synchronous. Tensors disposed inside the scope are skipped.
   *
   * @param fn - the synchronous work
   * @returns what `fn` returns
   * @throws NormkitError `E_OPTION` when `fn` returns a promise (the scope's tensors are freed
   *   first); whatever `fn` throws, after freeing every tensor of the scope
   * @example
   * ```ts
   * const { result } = pool.scope(() => {
   *   const scratch = pool.tensor([1024]);   // freed when the scope ends
   *   const result = pool.tensor([4, 3]);
   *   return { result };                     // kept: found in the return value
   * });
   * ```
   */
  scope<T>(fn: () => T): T {
    const scope = new Set<Allocation>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.scopes.pop();
      for (const allocation of scope) this.release(allocation);
      throw e;
    }
    this.scopes.pop();
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      for (const allocation of scope) this.release(allocation);
      throw new NormkitError('E_OPTION', 'pool.scope: expected a synchronous function, got one returning a promise (its tensors were freed)', 'fn');
    }
    const kept = new Set<Allocation>();
    this.collect(result, kept, 0);
    const parent = this.scopes[this.scopes.length - 1];
    for (const allocation of scope) {
      if (kept.has(allocation)) {
        allocation.scope = parent ?? null;
        parent?.add(allocation);
      } else {
        this.release(allocation);
      }
    }
    return result;
  }

  /**
   * Removes `t` from the scope it was allocated in, so the scope's end does not free it
   * (dispose it yourself).
   *
   * @param t - a pool tensor (anything else is returned unchanged)
   * @returns `t`
   */
  keep<T extends Tensor>(t: T): T {
    const allocation = this.isLive(t) ? this.live.get(t.data.byteOffset) : undefined;
    if (allocation?.scope != null) {
      allocation.scope.delete(allocation);
      allocation.scope = null;
    }
    return t;
  }

  /**
   * Disposes every live tensor (the pool stays usable). The kernels' own scratch, which the
   * backend keeps between calls, stays: freeing it let the next tensors be placed over it, and
   * later calls returned garbage.
   */
  disposeAll(): void {
    for (const allocation of [...this.live.values()]) if (allocation.view !== null) this.release(allocation);
  }

  /** @internal Raw bytes for the kernels (scratch and copies), or `null` when full. */
  allocateRaw(bytes: number): number | null {
    const allocation = this.allocate(bytes);
    return allocation === null ? null : allocation.start;
  }

  /** @internal Frees a block from {@link WasmPool.allocateRaw}. */
  freeRaw(start: number): void {
    const allocation = this.live.get(start);
    if (allocation !== undefined && allocation.view === null) this.release(allocation);
  }

  private collect(value: unknown, kept: Set<Allocation>, depth: number): void {
    if (value === null || typeof value !== 'object' || depth > 3) return;
    const v = value as Partial<Tensor>;
    if (ArrayBuffer.isView(v.data) && v.data.buffer === this.buffer) {
      const allocation = this.live.get(v.data.byteOffset);
      if (allocation !== undefined && allocation.view === v.data) kept.add(allocation);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) this.collect(item, kept, depth + 1);
    } else if (Object.getPrototypeOf(value) === Object.prototype) {
      for (const item of Object.values(value as Record<string, unknown>)) this.collect(item, kept, depth + 1);
    }
  }

  /**
   * Grows the memory so that `bytes` more fit: to at least twice its size (growth is rare, and each
   * growth of a non-shared memory detaches its buffer, which slows every typed-array loop of the
   * process a little for a while). Refreshes the views.
   *
   * @returns whether the memory grew
   */
  private grow(bytes: number): boolean {
    const oldBytes = this.buffer.byteLength;
    const wantBytes = Math.max(2 * oldBytes, oldBytes + bytes + WASM_PAGE_BYTES);
    const maxBytes = 65536 * WASM_PAGE_BYTES - WASM_PAGE_BYTES;
    const pages = Math.ceil((Math.min(wantBytes, maxBytes) - oldBytes) / WASM_PAGE_BYTES);
    if (pages <= 0) return false;
    try {
      this.memory.grow(pages);
    } catch {
      return false;
    }
    this.buffer = this.memory.buffer;
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    const added = this.buffer.byteLength - oldBytes;
    this.capacity += added;
    const last = this.free.at(-1);
    if (last !== undefined && last[0] + last[1] === oldBytes) last[1] += added;
    else this.free.push([oldBytes, added]);
    return true;
  }

  private allocate(requested: number): Allocation | null {
    const first = this.allocateFit(requested);
    if (first !== null || !this.growable || !this.grow(roundUp(requested))) return first;
    return this.allocateFit(requested);
  }

  private allocateFit(requested: number): Allocation | null {
    const bytes = roundUp(requested);
    const free = this.free;
    for (let i = 0; i < free.length; i++) {
      const block = free[i];
      if (block[1] < bytes) continue;
      const start = block[0];
      if (block[1] === bytes) free.splice(i, 1);
      else {
        block[0] += bytes;
        block[1] -= bytes;
      }
      const allocation: Allocation = { start, bytes, view: null, tensor: null, scope: null };
      this.live.set(start, allocation);
      this.used += bytes;
      return allocation;
    }
    return null;
  }

  private release(allocation: Allocation): void {
    if (this.live.get(allocation.start) !== allocation) return; // already freed (e.g. disposed inside a scope)
    this.live.delete(allocation.start);
    this.used -= allocation.bytes;
    if (allocation.view !== null) {
      this.dead.add(allocation.view);
      this.tensors--;
    }
    allocation.scope?.delete(allocation);
    allocation.scope = null;
    // Insert [start, bytes] into the sorted free list, merging with its neighbours.
    const free = this.free;
    const start = allocation.start;
    let lo = 0;
    let hi = free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (free[mid][0] < start) lo = mid + 1;
      else hi = mid;
    }
    const before = lo > 0 ? free[lo - 1] : undefined;
    const after = lo < free.length ? free[lo] : undefined;
    const end = start + allocation.bytes;
    if (before !== undefined && before[0] + before[1] === start) {
      before[1] += allocation.bytes;
      if (after !== undefined && after[0] === end) {
        before[1] += after[1];
        free.splice(lo, 1);
      }
    } else if (after !== undefined && after[0] === end) {
      after[0] = start;
      after[1] += allocation.bytes;
    } else {
      free.splice(lo, 0, [start, allocation.bytes]);
    }
  }
}

function checkShape(shape: Shape): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new NormkitError('E_SHAPE', `shape: expected a list of non-negative integers, got ${String(shape)}`, 'shape');
  }
}
