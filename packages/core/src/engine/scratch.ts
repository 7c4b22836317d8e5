/**
 * Reusable float64 arrays for an engine call's temporaries (per-cell coefficients, folded
 * sums): arrays that live only inside one call and never reach the caller.
 *
 * Why: a typed array of more than 64 bytes lives outside V8's heap, and creating one costs
 * microseconds (3–5 µs each on our benchmark machine, against ~0.1 µs for a view on an existing
 * buffer). A batch-norm step made about fifteen of them per call, which dominated small tensors.
 *
 * Each call site owns its own scratch, with one slot per temporary. `take(slot, n)` returns a
 * zero-filled view of `n` values that stays valid until the same slot is taken again, so a
 * function that takes from a scratch must not be re-entered while its result is in use, and
 * what it hands to its caller (`cellCoefficients` with a scratch, say) must be used before the
 * next call. A slot never shrinks: it keeps the largest call's temporaries for the life of the
 * process (a few float64 per channel or cell).
 */
export class Float64Scratch {
  private readonly buffers: Float64Array[];

  /**
   * @param slots - how many temporaries the call site needs at once
   */
  constructor(slots: number) {
    this.buffers = Array.from({ length: slots }, () => new Float64Array(0));
  }

  /**
   * A zero-filled view of `n` float64 values for temporary `slot`.
   *
   * @param slot - which temporary, `0 ≤ slot < slots`
   * @param n - how many values
   * @returns the view (valid until `slot` is taken again)
   */
  take(slot: number, n: number): Float64Array {
    let buffer = this.buffers[slot];
    if (buffer.length < n) {
      buffer = new Float64Array(Math.max(n, 2 * buffer.length));
      this.buffers[slot] = buffer;
    }
    const view = buffer.subarray(0, n);
    view.fill(0);
    return view;
  }
}
