import { isRowMajor, sizeOf } from '@normkit/core';
import type { Dtype, Shape, Tensor } from '@normkit/core';
import type { BatchNormBackend } from '@normkit/batch-norm';
import type { LayerNormBackend } from '@normkit/layer-norm';
import type { KernelExports } from './kernels.js';
import type { WasmPool } from './pool.js';
import type { Threads } from './threads.js';
import type { KERNEL_NAMES } from './protocol.js';

/** Counters of what the backend did, for tests and diagnostics. */
export interface WasmCounters {
  /** Hook calls the wasm kernels handled. */
  handled: number;
  /** Hook calls declined (float64, strided views, pool full): the TypeScript kernels ran. */
  declined: number;
  /** Inputs copied into the pool because they lived on the JS heap. */
  copiedIn: number;
  /** Outputs computed in the pool and copied out to a JS-heap tensor. */
  copiedOut: number;
  /** Kernel calls split over two threads. */
  threaded: number;
}

/** A tensor's place in wasm memory for one kernel call. */
interface Placed {
  readonly ptr: number;
  /** A temporary copy to free after the call (0: the tensor is resident). */
  readonly temp: number;
}

/** An input copied in by a producer hook, handed to the consumer hook that always follows it. */
interface Pending {
  readonly kind: 'bn-forward' | 'bn-backward' | 'ln-forward';
  readonly seq: number;
  readonly x: Tensor;
  readonly xPlaced: Placed;
  readonly dy: Tensor | null;
  readonly dyPlaced: Placed | null;
}

function product(shape: Shape, from: number, to: number): number {
  let p = 1;
  for (let k = from; k < to; k++) p *= shape[k];
  return p;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * The shared machinery of the two backends: placing tensors in the pool (resident inputs in
 * place, JS-heap inputs copied once), per-call scratch for the per-channel/per-row arrays,
 * and the copy-in hand-off between consecutive hooks of one plugin call.
 */
export class WasmKernels {
  readonly counters: WasmCounters = { handled: 0, declined: 0, copiedIn: 0, copiedOut: 0, threaded: 0 };
  private scratchPtr = 0;
  private scratchBytes = 0;
  private seq = 0;
  private pending: Pending | null = null;

  constructor(
    readonly pool: WasmPool,
    readonly k: KernelExports,
    readonly threads: Threads | null,
  ) {}

  /** Is `t` float32 and row-major contiguous (size-1 axes may have any stride)? */
  supported(t: Tensor): boolean {
    return t.data instanceof Float32Array && isRowMajor(t.shape, t.stride);
  }

  /** Starts a hook call: drops a hand-off left by a producer whose consumer never came. */
  begin(): number {
    this.seq++;
    if (this.pending !== null && this.pending.seq !== this.seq - 1) this.dropPending();
    return this.seq;
  }

  decline(): false {
    this.counters.declined++;
    return false;
  }

  /** Where `t` (float32, row-major) is in memory, copying it in when it is not resident; null when the pool is full. */
  place(t: Tensor, name: string): Placed | null {
    const pool = this.pool;
    pool.assertUsable(t, name);
    if (pool.owns(t)) return { ptr: t.data.byteOffset + 4 * t.offset, temp: 0 };
    const size = sizeOf(t.shape);
    const ptr = pool.allocateRaw(size * 4);
    if (ptr === null) return null;
    pool.f32.set((t.data as Float32Array).subarray(t.offset, t.offset + size), ptr >> 2);
    this.counters.copiedIn++;
    return { ptr, temp: ptr };
  }

  /** Where a row-major output goes: in place when resident, else a temporary (copied out by {@link finishOutput}). */
  placeOutput(t: Tensor, name: string): Placed | null {
    const pool = this.pool;
    pool.assertUsable(t, name);
    if (pool.owns(t)) return { ptr: t.data.byteOffset + 4 * t.offset, temp: 0 };
    const ptr = pool.allocateRaw(sizeOf(t.shape) * 4);
    return ptr === null ? null : { ptr, temp: ptr };
  }

  finishOutput(t: Tensor, placed: Placed): void {
    if (placed.temp === 0) return;
    const size = sizeOf(t.shape);
    t.data.set(this.pool.f32.subarray(placed.ptr >> 2, (placed.ptr >> 2) + size), t.offset);
    this.counters.copiedOut++;
    this.pool.freeRaw(placed.temp);
  }

  /**
   * Runs a kernel: split over the worker when threads are on and the tensor is large enough,
   * else on this thread.
   *
   * @param kernel - the kernel's export name
   * @param args - its arguments (pointers and sizes)
   * @param size - the number of elements of the tensor it walks (decides the split)
   */
  run(kernel: (typeof KERNEL_NAMES)[number], args: readonly number[], size: number): void {
    if (this.threads !== null && this.threads.split(kernel, args, size)) {
      this.counters.threaded++;
      return;
    }
    (this.k[kernel] as (...values: number[]) => void)(...args);
  }

  release(...placed: Array<Placed | null>): void {
    for (const p of placed) if (p !== null && p.temp !== 0) this.pool.freeRaw(p.temp);
  }

  /**
   * A scratch block of at least `bytes` (reused across calls, grown when too small), or null
   * when the pool cannot hold it.
   */
  scratch(bytes: number): number | null {
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

  /** Scratch carved into consecutive 16-byte-aligned arrays of the given byte sizes. */
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

  putF64(ptr: number, values: Float64Array): void {
    this.pool.f64.set(values, ptr >> 3);
  }

  putF32(ptr: number, values: Float64Array): void {
    this.pool.f32.set(values, ptr >> 2);
  }

  /** The float32 remainders `values − f32(values)`: with {@link putF32}, a float64 split into two floats. */
  putF32Lo(ptr: number, values: Float64Array): void {
    const f32 = this.pool.f32;
    const base = ptr >> 2;
    for (let i = 0; i < values.length; i++) f32[base + i] = values[i] - Math.fround(values[i]);
  }

  getF64(ptr: number, into: Float64Array): void {
    into.set(this.pool.f64.subarray(ptr >> 3, (ptr >> 3) + into.length));
  }

  /** Remembers copied-in inputs for the consumer hook that follows. */
  hold(kind: Pending['kind'], x: Tensor, xPlaced: Placed, dy: Tensor | null = null, dyPlaced: Placed | null = null): void {
    this.dropPending();
    if (xPlaced.temp === 0 && (dyPlaced === null || dyPlaced.temp === 0)) return;
    this.pending = { kind, seq: this.seq, x, xPlaced, dy, dyPlaced };
  }

  /** The inputs held by the producer that ran just before, when they are these tensors. */
  take(kind: Pending['kind'], x: Tensor, dy: Tensor | null = null): Pending | null {
    const p = this.pending;
    if (p === null || p.kind !== kind || p.seq !== this.seq - 1 || p.x !== x || p.dy !== dy) return null;
    this.pending = null;
    return p;
  }

  dropPending(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    this.release(p.xPlaced, p.dyPlaced);
  }

  /** Frees the scratch and any held copies. */
  dispose(): void {
    this.dropPending();
    if (this.scratchPtr !== 0) this.pool.freeRaw(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchBytes = 0;
  }
}

/** The `(outer, C, inner)` blocking of a shape around the channel axis. */
function blocking(shape: Shape, channelAxis: number): [number, number, number] {
  return [product(shape, 0, channelAxis), shape[channelAxis], product(shape, channelAxis + 1, shape.length)];
}

/** Batch norm's hooks on the wasm kernels. */
export function batchNormBackend(w: WasmKernels): BatchNormBackend {
  const { pool } = w;
  return {
    name: 'wasm-simd',
    allocate(shape: Shape, dtype: Dtype): Tensor | null {
      return dtype === 'float32' ? pool.tryTensor(shape, false) : null;
    },
    statistics(x, channelAxis, mean, variance) {
      w.begin();
      if (!w.supported(x)) return w.decline();
      const [outer, channels, inner] = blocking(x.shape, channelAxis);
      const arrays = w.carve([8 * channels, 8 * channels]);
      if (arrays === null) return w.decline();
      const xp = w.place(x, 'x');
      if (xp === null) return w.decline();
      const [m, v] = arrays;
      w.run('moments', [xp.ptr, outer, channels, inner, m, v], sizeOf(x.shape));
      w.getF64(m, mean);
      w.getF64(v, variance);
      let finite = true;
      for (let c = 0; c < channels; c++) if (!Number.isFinite(mean[c]) || !Number.isFinite(variance[c])) finite = false;
      if (finite) w.hold('bn-forward', x, xp);
      else w.release(xp);
      w.counters.handled++;
      return true;
    },
    normalize(x, channelAxis, mean, scale, shift, y) {
      w.begin();
      if (!w.supported(x) || !w.supported(y)) return w.decline();
      const [outer, channels, inner] = blocking(x.shape, channelAxis);
      const arrays = w.carve([4 * channels, 4 * channels, 4 * channels, 4 * channels]);
      if (arrays === null) return w.decline();
      const held = w.take('bn-forward', x);
      const xp = held?.xPlaced ?? w.place(x, 'x');
      if (xp === null) return w.decline();
      const yp = w.placeOutput(y, 'y');
      if (yp === null) {
        w.release(xp);
        return w.decline();
      }
      const [m, ml, s, b] = arrays;
      w.putF32(m, mean);
      w.putF32Lo(ml, mean);
      w.putF32(s, scale);
      w.putF32(b, shift);
      w.run('bnNormalize', [xp.ptr, outer, channels, inner, m, ml, s, b, yp.ptr], sizeOf(x.shape));
      w.finishOutput(y, yp);
      w.release(xp);
      w.counters.handled++;
      return true;
    },
    gradientSums(x, dy, channelAxis, mean, sumDy, sumDyCentered) {
      w.begin();
      if (!w.supported(x) || !w.supported(dy)) return w.decline();
      const [outer, channels, inner] = blocking(x.shape, channelAxis);
      const arrays = w.carve([8 * channels, 8 * channels, 8 * channels]);
      if (arrays === null) return w.decline();
      const xp = w.place(x, 'x');
      if (xp === null) return w.decline();
      const dp = w.place(dy, 'dy');
      if (dp === null) {
        w.release(xp);
        return w.decline();
      }
      const [m, s, t] = arrays;
      w.putF64(m, mean);
      w.run('bnGradientSums', [xp.ptr, dp.ptr, outer, channels, inner, m, s, t], sizeOf(x.shape));
      w.getF64(s, sumDy);
      w.getF64(t, sumDyCentered);
      w.hold('bn-backward', x, xp, dy, dp);
      w.counters.handled++;
      return true;
    },
    inputGradient(x, dy, channelAxis, mean, a, b, k, dx) {
      w.begin();
      if (!w.supported(x) || !w.supported(dy) || !w.supported(dx)) return w.decline();
      const [outer, channels, inner] = blocking(x.shape, channelAxis);
      const arrays = w.carve([4 * channels, 4 * channels, 4 * channels, 4 * channels, 4 * channels]);
      if (arrays === null) return w.decline();
      const held = w.take('bn-backward', x, dy);
      const xp = held?.xPlaced ?? w.place(x, 'x');
      if (xp === null) return w.decline();
      const dp = held?.dyPlaced ?? w.place(dy, 'dy');
      if (dp === null) {
        w.release(xp);
        return w.decline();
      }
      const op = w.placeOutput(dx, 'dx');
      if (op === null) {
        w.release(xp, dp);
        return w.decline();
      }
      const [pm, pl, pa, pb, pk] = arrays;
      w.putF32(pm, mean);
      w.putF32Lo(pl, mean);
      w.putF32(pa, a);
      w.putF32(pb, b);
      w.putF32(pk, k);
      w.run('bnInputGradient', [xp.ptr, dp.ptr, outer, channels, inner, pm, pl, pa, pb, pk, op.ptr], sizeOf(x.shape));
      w.finishOutput(dx, op);
      w.release(xp, dp);
      w.counters.handled++;
      return true;
    },
  };
}

/** Layer norm's hooks on the wasm kernels. */
export function layerNormBackend(w: WasmKernels): LayerNormBackend {
  const { pool } = w;
  return {
    name: 'wasm-simd',
    allocate(shape: Shape, dtype: Dtype): Tensor | null {
      return dtype === 'float32' ? pool.tryTensor(shape, false) : null;
    },
    statistics(x, leadingRank, eps, mean, invStd) {
      w.begin();
      if (!w.supported(x)) return w.decline();
      const rows = product(x.shape, 0, leadingRank);
      const features = product(x.shape, leadingRank, x.shape.length);
      const arrays = w.carve([8 * rows, 8 * rows]);
      if (arrays === null) return w.decline();
      const xp = w.place(x, 'x');
      if (xp === null) return w.decline();
      const [m, s] = arrays;
      w.run('lnStatistics', [xp.ptr, rows, features, eps, m, s], sizeOf(x.shape));
      w.getF64(m, mean);
      w.getF64(s, invStd);
      w.hold('ln-forward', x, xp);
      w.counters.handled++;
      return true;
    },
    forward(x, leadingRank, mean, invStd, scale, shift, y) {
      w.begin();
      if (!w.supported(x) || !w.supported(y)) return w.decline();
      const rows = product(x.shape, 0, leadingRank);
      const features = product(x.shape, leadingRank, x.shape.length);
      const arrays = w.carve([8 * rows, 8 * rows, 4 * features, 4 * features]);
      if (arrays === null) return w.decline();
      const held = w.take('ln-forward', x);
      const xp = held?.xPlaced ?? w.place(x, 'x');
      if (xp === null) return w.decline();
      const yp = w.placeOutput(y, 'y');
      if (yp === null) {
        w.release(xp);
        return w.decline();
      }
      const [m, s, g, b] = arrays;
      w.putF64(m, mean);
      w.putF64(s, invStd);
      w.putF32(g, scale);
      w.putF32(b, shift);
      w.run('lnForward', [xp.ptr, rows, features, m, s, g, b, yp.ptr], sizeOf(x.shape));
      w.finishOutput(y, yp);
      w.release(xp);
      w.counters.handled++;
      return true;
    },
    backward(x, dy, leadingRank, mean, invStd, scale, dx, dscale, dshift) {
      w.begin();
      if (!w.supported(x) || !w.supported(dy) || !w.supported(dx)) return w.decline();
      const rows = product(x.shape, 0, leadingRank);
      const features = product(x.shape, leadingRank, x.shape.length);
      const arrays = w.carve([8 * rows, 8 * rows, 4 * features, 8 * features, 8 * features]);
      if (arrays === null) return w.decline();
      const xp = w.place(x, 'x');
      if (xp === null) return w.decline();
      const dp = w.place(dy, 'dy');
      if (dp === null) {
        w.release(xp);
        return w.decline();
      }
      const op = w.placeOutput(dx, 'dx');
      if (op === null) {
        w.release(xp, dp);
        return w.decline();
      }
      const [m, s, g, ds, db] = arrays;
      w.putF64(m, mean);
      w.putF64(s, invStd);
      w.putF32(g, scale);
      w.putF64(ds, dscale);
      w.putF64(db, dshift);
      w.run('lnBackward', [xp.ptr, dp.ptr, rows, features, m, s, g, op.ptr, ds, db], sizeOf(x.shape));
      w.getF64(ds, dscale);
      w.getF64(db, dshift);
      w.finishOutput(dx, op);
      w.release(xp, dp);
      w.counters.handled++;
      return true;
    },
  };
}
