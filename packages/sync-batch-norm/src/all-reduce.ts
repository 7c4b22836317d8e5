/**
 * What went wrong in a collective call, in {@link CollectiveError.kind}:
 *
 * - `'aborted'`: a participant (or the coordinator) aborted the group, typically because it
 *   failed before or during a collective call;
 * - `'timeout'`: this participant waited longer than the group's bound;
 * - `'departed'`: a participant left the group (its thread ended), so the call cannot complete;
 * - `'mismatch'`: participants called with arrays of different lengths (calls out of order);
 * - `'capacity'`: the array is longer than the transport can carry.
 */
export type CollectiveErrorKind = 'aborted' | 'timeout' | 'departed' | 'mismatch' | 'capacity';

/**
 * The error an {@link AllReduce} throws when a collective call cannot complete. It is not a
 * `NormkitError` (nothing was wrong with this participant's input); the group is broken
 * afterwards (every further call throws too), and the state of the layer that called is
 * unchanged.
 */
export class CollectiveError extends Error {
  /** What went wrong. */
  readonly kind: CollectiveErrorKind;
  /** The participant that aborted the group or left it (−1: the coordinator), or `null`. */
  readonly origin: number | null;

  /**
   * @param kind - what went wrong
   * @param message - what happened, for people
   * @param origin - the rank that caused it (−1 for the coordinator), or `null`
   */
  constructor(kind: CollectiveErrorKind, message: string, origin: number | null = null) {
    super(message);
    this.name = 'CollectiveError';
    this.kind = kind;
    this.origin = origin;
  }
}

/**
 * A sum over float64 arrays across the participants of a data-parallel group: the one
 * collective SyncBatchNorm needs. Implement it to plug in another transport; this package
 * ships {@link SharedAllReduce} (worker threads, `SharedArrayBuffer` and `Atomics`) and
 * {@link loopbackAllReduce} (one participant).
 *
 * Requirements of an implementation:
 *
 * - `sum` is **synchronous** and returns only when every participant has called it, as
 *   normkit's forward and backward passes are synchronous (a transport that only has an
 *   asynchronous API needs a blocking bridge, e.g. `Atomics.wait` on a helper thread);
 * - every participant receives **the same bits**: sum in a fixed order (e.g. rank 0, 1, …),
 *   never in arrival order, or replicas drift apart;
 * - a wait is **bounded**: when a participant fails, aborts or leaves, the others' `sum`
 *   throws a {@link CollectiveError} instead of hanging.
 */
export interface AllReduce {
  /** This participant's index, `0 … size − 1`. */
  readonly rank: number;
  /** The number of participants. */
  readonly size: number;
  /**
   * Replaces `values`, in place, by the elementwise sum over every participant's `values`.
   * Every participant calls it with an array of the same length, in the same sequence of calls.
   *
   * @param values - this participant's contribution; the sum on return
   * @throws CollectiveError when the call cannot complete (see {@link CollectiveErrorKind})
   */
  sum(values: Float64Array): void;
  /**
   * Breaks the group: every participant's pending and future `sum` throws a
   * {@link CollectiveError} of kind `'aborted'` naming this rank and the reason. Called by
   * SyncBatchNorm when its own call fails before or during a collective, so that the other
   * participants do not wait for it. Idempotent; the first reason wins.
   *
   * @param reason - what went wrong, for the others' error messages
   */
  abort(reason: string): void;
}

/**
 * The all-reduce of a group of one: `sum` leaves the values as they are and `abort` has no one
 * to tell (it does nothing, so a failed call does not break a single-process layer).
 * SyncBatchNorm uses it by default, and is then batch norm, bit for bit.
 *
 * @returns an {@link AllReduce} with rank 0 and size 1
 * @example
 * ```ts
 * const single = syncBatchNorm.create({ numFeatures: 8 }); // allReduce: loopbackAllReduce()
 * ```
 */
export function loopbackAllReduce(): AllReduce {
  return Object.freeze({
    rank: 0,
    size: 1,
    sum(values: Float64Array): void {
      void values;
    },
    abort(reason: string): void {
      void reason;
    },
  });
}
