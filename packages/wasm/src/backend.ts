import { KERNEL_NAMES, isRowMajor } from '@normkit/core';
import type { KernelName, StridedView } from '@normkit/core';
import type { KernelExports } from './kernels.js';
import type { WasmPool } from './pool.js';
import type { ExportName } from './protocol.js';
import type { Threads } from './threads.js';

/** Counters of what a wasm backend did, for tests and diagnostics. */
export interface WasmCounters {
  /** Engine kernel calls the wasm kernels handled. */
  handled: number;
  /** Engine kernel calls declined (float64, strided views, other layouts, pool full): the TypeScript kernel ran. */
  declined: number;
  /** Handled calls per engine kernel. */
  readonly kernels: { [K in KernelName]: number };
  /** Inputs copied into the pool for one kernel call because they lived on the JS heap. */
  copiedIn: number;
  /** Outputs computed in the pool and copied out to a JS-heap tensor. */
  copiedOut: number;
  /** wasm kernel runs split over two threads (one per `A` slice of a call). */
  threaded: number;
  /**
   * Handled calls that streamed their JS-heap tensors through wasm memory in cache-sized pieces
   * (tensors of at least 2²⁰ elements, no worker threads); each such tensor still counts once
   * in `copiedIn` or `copiedOut`.
   */
  streamed: number;
}

/** A view's place in wasm memory for one kernel call. */
export interface Placed {
  /** Byte address of its first element. */
  readonly ptr: number;
  /** A temporary block to free after the call (0: the view is resident). */
  readonly temp: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Is `v` a float32 view in row-major order (size-1 axes may have any stride), the only
 * views the wasm kernels read and write?
 *
 * @param v - a kernel call's view
 * @returns whether the wasm kernels can take it
 */
export function isFloat32RowMajor(v: StridedView): boolean {
  return v.data instanceof Float32Array && isRowMajor(v.shape, v.strides);
}

/**
 * The machinery every kernel implementation shares: placing views in the pool (resident
 * views in place, JS-heap inputs copied in for the one call and outputs copied out), a
 * scratch block for the per-cell / per-row arrays, the counters, and running a wasm export
 * on this thread or split over the worker. A call carries all its inputs: nothing is kept
 * from one call to the next but the (reused) scratch block.
 */
export class WasmKernels {
  /** See {@link WasmCounters}. */
  readonly counters: WasmCounters = {
    handled: 0,
    declined: 0,
    kernels: Object.fromEntries(KERNEL_NAMES.map((name) => [name, 0])) as { [K in KernelName]: number },
    copiedIn: 0,
    copiedOut: 0,
    threaded: 0,
    streamed: 0,
  };
  private scratchPtr = 0;
  private scratchBytes = 0;

  constructor(
    readonly pool: WasmPool,
    readonly k: KernelExports,
    readonly threads: Threads | null,
  ) {}

  /** Counts a declined call. */
  decline(): false {
    this.counters.declined++;
    return false;
  }

  /** Counts a handled call of `kernel`. */
  handled(kernel: KernelName): true {
    this.counters.handled++;
    this.counters.kernels[kernel]++;
    return true;
  }

  /**
   * Throws when a view is a disposed pool tensor (before anything is allocated or written).
   *
   * @throws NormkitError `E_STATE` ("x: wasm pool tensor used after dispose()")
   */
  assertUsable(v: StridedView, name: string): void {
    this.pool.assertUsable(v, name);
  }

  /**
   * Where an input view (float32, row-major, `size` elements) is in memory: in place when it
   * is a view into the pool, else a temporary copy; `null` when the pool cannot hold the copy.
   */
  place(v: StridedView, size: number): Placed | null {
    const pool = this.pool;
    if (v.data.buffer === pool.buffer) return { ptr: v.data.byteOffset + 4 * v.offset, temp: 0 };
    const ptr = pool.allocateRaw(size * 4);
    if (ptr === null) return null;
    pool.f32.set((v.data as Float32Array).subarray(v.offset, v.offset + size), ptr >> 2);
    this.counters.copiedIn++;
    return { ptr, temp: ptr };
  }

  /**
   * Where an output view goes: in place when it is a view into the pool, else a temporary
   * that {@link WasmKernels.finishOutput} copies out; `null` when the pool is full.
   */
  placeOutput(v: StridedView, size: number): Placed | null {
    const pool = this.pool;
    if (v.data.buffer === pool.buffer) return { ptr: v.data.byteOffset + 4 * v.offset, temp: 0 };
    const ptr = pool.allocateRaw(size * 4);
    return ptr === null ? null : { ptr, temp: ptr };
  }

  /** Copies a temporary output out to its view and frees it (nothing for a resident output). */
  finishOutput(v: StridedView, size: number, placed: Placed): void {
    if (placed.temp === 0) return;
    v.data.set(this.pool.f32.subarray(placed.ptr >> 2, (placed.ptr >> 2) + size), v.offset);
    this.counters.copiedOut++;
    this.pool.freeRaw(placed.temp);
  }

  /** Frees the temporaries among `placed`. */
  release(...placed: Array<Placed | null>): void {
    for (const p of placed) if (p !== null && p.temp !== 0) this.pool.freeRaw(p.temp);
  }

  /**
   * Runs a wasm export: split over the worker when threads are on and the slice is large
   * enough, else on this thread.
   *
   * @param kernel - the export's name
   * @param args - its arguments (pointers and sizes)
   * @param size - the number of elements it walks (decides the split)
   */
  run(kernel: ExportName, args: readonly number[], size: number): void {
    if (this.threads !== null && this.threads.split(kernel, args, size)) {
      this.counters.threaded++;
      return;
    }
    (this.k[kernel] as (...values: number[]) => void)(...args);
  }

  /**
   * Scratch carved into consecutive 16-byte-aligned arrays of the given byte sizes (one block,
   * reused across calls and grown when too small), or `null` when the pool cannot hold it.
   */
  carve(sizes: readonly number[]): number[] | null {
    let total = 0;
    for (const s of sizes) total += align16(s);
    const base = this.scratch(total);
    if (base === null) return null;
    const out: number[] = [];
    let p = base;
    for (const s of sizes) {
      out.push(p);
      p += align16(s);
    }
    return out;
  }

  private scratch(bytes: number): number | null {
    if (bytes <= this.scratchBytes) return this.scratchPtr;
    if (this.scratchPtr !== 0) this.pool.freeRaw(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchBytes = 0;
    const want = Math.max(align16(bytes), 4096);
    const ptr = this.pool.allocateRaw(want);
    if (ptr === null) return null;
    this.scratchPtr = ptr;
    this.scratchBytes = want;
    return ptr;
  }

  /** Writes float64 values at `ptr`. */
  putF64(ptr: number, values: Float64Array): void {
    this.pool.f64.set(values, ptr >> 3);
  }

  /** Writes `values` rounded to float32 at `ptr`. */
  putF32(ptr: number, values: Float64Array): void {
    this.pool.f32.set(values, ptr >> 2);
  }

  /** Writes `n` copies of `value` as float32 at `ptr`. */
  fillF32(ptr: number, n: number, value: number): void {
    this.pool.f32.fill(value, ptr >> 2, (ptr >> 2) + n);
  }

  /** The float32 remainders `values − f32(values)`: with {@link WasmKernels.putF32}, a float64 split into two floats. */
  putF32Lo(ptr: number, values: Float64Array): void {
    const f32 = this.pool.f32;
    const base = ptr >> 2;
    for (let i = 0; i < values.length; i++) f32[base + i] = values[i] - Math.fround(values[i]);
  }

  /** Reads `into.length` float64 values at `ptr` into `into`. */
  /** γ as float32 per feature at `ptr` (ones when absent). */
  putGamma(ptr: number, features: number, weight: Float64Array | null): void {
    if (weight === null) this.fillF32(ptr, features, 1);
    else this.putF32(ptr, weight);
  }

  /** γ and β as float32 per feature (ones and zeros when absent). */
  putAffine(pg: number, pb: number, features: number, weight: Float64Array | null, bias: Float64Array | null): void {
    this.putGamma(pg, features, weight);
    if (bias === null) this.fillF32(pb, features, 0);
    else this.putF32(pb, bias);
  }

  /** A float64 center as two float32 arrays, `c` and `cLo = c − f32(c)` (see the kernels' header). */
  putCenter(pc: number, pl: number, center: Float64Array): void {
    this.putF32(pc, center);
    this.putF32Lo(pl, center);
  }

  getF64(ptr: number, into: Float64Array): void {
    into.set(this.pool.f64.subarray(ptr >> 3, (ptr >> 3) + into.length));
  }

  /** Frees the scratch block. */
  dispose(): void {
    if (this.scratchPtr !== 0) this.pool.freeRaw(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchBytes = 0;
  }
}
