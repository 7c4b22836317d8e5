import { NormkitError, describeValue } from '@normkit/core';
import type { AllReduce } from './all-reduce.js';
import { CollectiveError } from './all-reduce.js';

// Layout of the control block (Int32 slots) at the start of the shared buffer.
const GENERATION = 0; // barrier generation: bumped when the last participant arrives
const ARRIVED = 1; // participants arrived at the current barrier
const ABORTED = 2; // 0: no; 1: an abort is being written; 2: aborted (origin and reason readable)
const ORIGIN = 3; // the rank that aborted (−1: the coordinator)
const REASON_LENGTH = 4; // bytes of the abort reason
const DEPARTED = 5; // 1 + the rank that left first, or 0
const LENGTHS = 8; // per rank: the length of its current contribution
const REASON_BYTES = 1024;
const WAIT_SLICE_MS = 100;

/** Default {@link SharedAllReduceOptions.capacity}: 65536 float64 values per participant (512 KiB). */
export const DEFAULT_ALL_REDUCE_CAPACITY = 1 << 16;
/** Default {@link SharedAllReduceOptions.timeoutMs}: a minute. */
export const DEFAULT_ALL_REDUCE_TIMEOUT_MS = 60_000;

/** Options of {@link SharedAllReduceGroup}. */
export interface SharedAllReduceOptions {
  /** The number of participants (worker threads), ≥ 1. */
  readonly size: number;
  /**
   * The longest array one `sum` call carries, in float64 values (default
   * {@link DEFAULT_ALL_REDUCE_CAPACITY}). SyncBatchNorm needs `size·(1 + 2C)` for a layer of
   * C channels in forward and `2C` in backward.
   */
  readonly capacity?: number;
  /**
   * The bound on one wait, in milliseconds (default {@link DEFAULT_ALL_REDUCE_TIMEOUT_MS}):
   * a participant that waits longer for the others aborts the group. Failures and departures
   * end the wait sooner; this is the last resort against a participant that hangs.
   */
  readonly timeoutMs?: number;
}

/**
 * What a worker needs to join a group (`connectSharedAllReduce(handle)`): plain data and a
 * `SharedArrayBuffer`, so it passes through `workerData` or `postMessage`.
 */
export interface SharedAllReduceHandle {
  /** The shared memory of the group. */
  readonly buffer: SharedArrayBuffer;
  /** The participant's rank. */
  readonly rank: number;
  /** The number of participants. */
  readonly size: number;
  /** Float64 values per participant. */
  readonly capacity: number;
  /** The bound on one wait, in milliseconds. */
  readonly timeoutMs: number;
}

/** Typed views of a group's shared buffer. */
interface Shared {
  readonly control: Int32Array;
  readonly reason: Uint8Array;
  readonly data: Float64Array;
  readonly size: number;
  readonly capacity: number;
}

function layout(buffer: SharedArrayBuffer, size: number, capacity: number): Shared {
  const controlBytes = Math.ceil(((LENGTHS + size) * 4) / 8) * 8;
  return {
    control: new Int32Array(buffer, 0, LENGTHS + size),
    reason: new Uint8Array(buffer, controlBytes, REASON_BYTES),
    data: new Float64Array(buffer, controlBytes + REASON_BYTES, size * capacity),
    size,
    capacity,
  };
}

function bytesFor(size: number, capacity: number): number {
  return Math.ceil(((LENGTHS + size) * 4) / 8) * 8 + REASON_BYTES + size * capacity * 8;
}

function describeOrigin(origin: number): string {
  return origin === -1 ? 'the coordinator' : `rank ${origin}`;
}

/** Marks the group aborted (the first abort wins) and wakes every waiter. */
function abortShared(shared: Shared, origin: number, reason: string): void {
  const { control } = shared;
  if (Atomics.compareExchange(control, ABORTED, 0, 1) === 0) {
    const bytes = new TextEncoder().encode(reason).subarray(0, REASON_BYTES);
    shared.reason.set(bytes);
    Atomics.store(control, REASON_LENGTH, bytes.length);
    Atomics.store(control, ORIGIN, origin);
    Atomics.store(control, ABORTED, 2);
    Atomics.notify(control, ABORTED);
  }
  Atomics.notify(control, GENERATION);
}

/** The error of an aborted group, once its reason is readable. */
function abortError(shared: Shared): CollectiveError {
  const { control } = shared;
  const deadline = Date.now() + 1000;
  while (Atomics.load(control, ABORTED) === 1 && Date.now() < deadline) Atomics.wait(control, ABORTED, 1, 10);
  const origin = Atomics.load(control, ORIGIN);
  const length = Atomics.load(control, REASON_LENGTH);
  // TextDecoder refuses views of shared memory: copy the bytes first.
  const reason = new TextDecoder().decode(shared.reason.slice(0, length));
  return new CollectiveError('aborted', `all-reduce: the group was aborted by ${describeOrigin(origin)}: ${reason}`, origin);
}

/**
 * A group of participants that sum float64 arrays through one `SharedArrayBuffer`, created on
 * the coordinating thread (usually the main thread): hand `group.handle(rank)` to each worker,
 * which joins with {@link connectSharedAllReduce}. The coordinator can abort the group (when a
 * worker crashes) and mark participants as departed (when their thread ends), so that the
 * others' waits end with a {@link CollectiveError} instead of a hang. {@link runWorkers} does
 * all of this.
 *
 * @example
 * ```ts
 * const group = new SharedAllReduceGroup({ size: 2 });
 * const workers = [0, 1].map((rank) => new Worker(url, { workerData: { allReduce: group.handle(rank) } }));
 * workers.forEach((w, rank) => {
 *   w.on('error', (e) => group.abort(`rank ${rank} failed: ${e.message}`, rank));
 *   w.on('exit', () => group.depart(rank));
 * });
 * ```
 */
export class SharedAllReduceGroup {
  /** The number of participants. */
  readonly size: number;
  /** Float64 values per participant and call. */
  readonly capacity: number;
  /** The bound on one wait, in milliseconds. */
  readonly timeoutMs: number;
  /** The shared memory. */
  readonly buffer: SharedArrayBuffer;
  readonly #shared: Shared;

  /**
   * @param options - size, capacity and timeout
   * @throws NormkitError `E_OPTION` for a size, capacity or timeout that is not a positive integer
   */
  constructor(options: SharedAllReduceOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new NormkitError('E_OPTION', `SharedAllReduceGroup options: expected { size, capacity?, timeoutMs? }, got ${describeValue(options)}`, 'options');
    }
    const positive = (key: 'size' | 'capacity' | 'timeoutMs', value: unknown): number => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new NormkitError('E_OPTION', `SharedAllReduceGroup options.${key}: expected a positive integer, got ${describeValue(value)}`, `options.${key}`);
      }
      return value;
    };
    this.size = positive('size', options.size);
    this.capacity = positive('capacity', options.capacity ?? DEFAULT_ALL_REDUCE_CAPACITY);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs ?? DEFAULT_ALL_REDUCE_TIMEOUT_MS);
    this.buffer = new SharedArrayBuffer(bytesFor(this.size, this.capacity));
    this.#shared = layout(this.buffer, this.size, this.capacity);
  }

  /**
   * What participant `rank` needs to join.
   *
   * @param rank - `0 … size − 1`
   * @returns the handle to pass to {@link connectSharedAllReduce} in that worker
   * @throws NormkitError `E_OPTION` for a rank outside the group
   */
  handle(rank: number): SharedAllReduceHandle {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.size) {
      throw new NormkitError('E_OPTION', `SharedAllReduceGroup.handle: expected a rank in [0, ${this.size - 1}], got ${describeValue(rank)}`, 'rank');
    }
    return { buffer: this.buffer, rank, size: this.size, capacity: this.capacity, timeoutMs: this.timeoutMs };
  }

  /**
   * Aborts the group: every pending and future `sum` throws a {@link CollectiveError}.
   *
   * @param reason - what happened
   * @param origin - the rank it happened to (default −1, the coordinator)
   */
  abort(reason: string, origin = -1): void {
    abortShared(this.#shared, origin, reason);
  }

  /**
   * Records that participant `rank` has left (its thread ended): a `sum` that waits for it
   * throws a {@link CollectiveError} of kind `'departed'` (calls it completed before leaving
   * are not affected).
   *
   * @param rank - the participant that left
   */
  depart(rank: number): void {
    Atomics.compareExchange(this.#shared.control, DEPARTED, 0, rank + 1);
    Atomics.notify(this.#shared.control, GENERATION);
  }

  /** Whether the group was aborted. */
  get aborted(): boolean {
    return Atomics.load(this.#shared.control, ABORTED) !== 0;
  }
}

/**
 * One participant's side of a {@link SharedAllReduceGroup}: an {@link AllReduce} over worker
 * threads. `sum` writes the values into the participant's slot of the shared buffer, waits
 * (`Atomics.wait`, bounded) until every participant has written, sums the slots **in rank
 * order** — every participant gets the same bits — and waits again until everyone has read,
 * so the slots can be reused. `Atomics.wait` blocks, which Node allows in worker threads.
 */
export class SharedAllReduce implements AllReduce {
  /** This participant's rank. */
  readonly rank: number;
  /** The number of participants. */
  readonly size: number;
  /** The longest array one call carries. */
  readonly capacity: number;
  /** The bound on one wait, in milliseconds. */
  readonly timeoutMs: number;
  readonly #shared: Shared;

  /**
   * @param handle - from {@link SharedAllReduceGroup.handle} (use {@link connectSharedAllReduce}
   *   to check one that came through `workerData`)
   */
  constructor(handle: SharedAllReduceHandle) {
    this.rank = handle.rank;
    this.size = handle.size;
    this.capacity = handle.capacity;
    this.timeoutMs = handle.timeoutMs;
    this.#shared = layout(handle.buffer, handle.size, handle.capacity);
  }

  /** Whether the group was aborted (by anyone). */
  get aborted(): boolean {
    return Atomics.load(this.#shared.control, ABORTED) !== 0;
  }

  /**
   * Aborts the group on behalf of this participant.
   *
   * @param reason - what went wrong
   */
  abort(reason: string): void {
    abortShared(this.#shared, this.rank, reason);
  }

  /**
   * The elementwise sum over all participants, in place (see {@link AllReduce.sum}).
   *
   * @param values - this participant's contribution; the sum on return
   * @throws CollectiveError when the group is or gets aborted, a participant departs, the
   *   wait exceeds `timeoutMs`, the lengths differ, or `values` exceeds `capacity`
   */
  sum(values: Float64Array): void {
    const shared = this.#shared;
    const n = values.length;
    if (n > this.capacity) {
      const message = `all-reduce: rank ${this.rank} called sum with ${n} values, more than the group's capacity of ${this.capacity} (raise SharedAllReduceOptions.capacity)`;
      this.abort(message);
      throw new CollectiveError('capacity', message, this.rank);
    }
    shared.data.set(values, this.rank * this.capacity);
    Atomics.store(shared.control, LENGTHS + this.rank, n);
    this.#barrier();
    for (let r = 0; r < this.size; r++) {
      const length = Atomics.load(shared.control, LENGTHS + r);
      if (length !== n) {
        const message = `all-reduce: rank ${r} contributed ${length} values and rank ${this.rank} ${n}: the participants' calls are out of step`;
        this.abort(message);
        throw new CollectiveError('mismatch', message, this.rank);
      }
    }
    const data = shared.data;
    const capacity = this.capacity;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let r = 0, p = i; r < this.size; r++, p += capacity) s += data[p];
      values[i] = s;
    }
    this.#barrier();
  }

  /** Waits until every participant has arrived (a generation barrier), within the bound. */
  #barrier(): void {
    const shared = this.#shared;
    const { control } = shared;
    const generation = Atomics.load(control, GENERATION);
    if (Atomics.load(control, ABORTED) !== 0) throw abortError(shared);
    if (Atomics.add(control, ARRIVED, 1) + 1 === this.size) {
      Atomics.store(control, ARRIVED, 0);
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      return;
    }
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if (Atomics.load(control, GENERATION) !== generation) return;
      if (Atomics.load(control, ABORTED) !== 0) throw abortError(shared);
      const departed = Atomics.load(control, DEPARTED);
      if (departed !== 0) {
        const message = `all-reduce: rank ${departed - 1} left the group while rank ${this.rank} waited for it`;
        abortShared(shared, this.rank, message);
        throw new CollectiveError('departed', message, departed - 1);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const message = `all-reduce: rank ${this.rank} waited more than ${this.timeoutMs} ms for the other participants`;
        abortShared(shared, this.rank, message);
        throw new CollectiveError('timeout', message, this.rank);
      }
      Atomics.wait(control, GENERATION, generation, Math.min(remaining, WAIT_SLICE_MS));
    }
  }
}

/**
 * Joins a {@link SharedAllReduceGroup} from inside a worker, checking the handle that came
 * through `workerData` or a message.
 *
 * @param handle - what `group.handle(rank)` returned, after structured cloning
 * @returns this participant's {@link SharedAllReduce}
 * @throws NormkitError `E_OPTION` when `handle` is not such a handle
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * const allReduce = connectSharedAllReduce(workerData.allReduce);
 * const bn = new SyncBatchNorm({ numFeatures: 16, allReduce });
 * ```
 */
export function connectSharedAllReduce(handle: unknown): SharedAllReduce {
  const h = handle as Partial<SharedAllReduceHandle> | null;
  const integer = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  const ok =
    typeof h === 'object' &&
    h !== null &&
    h.buffer instanceof SharedArrayBuffer &&
    integer(h.size, 1) &&
    integer(h.rank, 0) &&
    (h.rank as number) < (h.size as number) &&
    integer(h.capacity, 1) &&
    integer(h.timeoutMs, 1) &&
    h.buffer.byteLength === bytesFor(h.size as number, h.capacity as number);
  if (!ok) {
    throw new NormkitError('E_OPTION', `connectSharedAllReduce: expected the handle of a SharedAllReduceGroup (group.handle(rank)), got ${describeValue(handle)}`, 'handle');
  }
  return new SharedAllReduce(h as SharedAllReduceHandle);
}
