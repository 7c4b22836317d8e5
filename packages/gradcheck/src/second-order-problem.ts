import { tensor, toTypedArray } from '@normkit/core';
import type { Mode, Tensor } from '@normkit/core';
import { asFloat64, presentTensors } from './problem.js';
import type { AnyBound, Slot, TensorRecord } from './problem.js';

/** What {@link SecondOrderProblem.doubleBackwardRaw} returns: the plugin's result as it came. */
export interface DoubleBackwardOutcome {
  /** ∂S/∂x as the plugin returned it. */
  readonly dx: Tensor;
  /** ∂S/∂dy as the plugin returned it. */
  readonly ddy: Tensor;
  /** ∂S/∂p as the plugin returned them. */
  readonly grads: TensorRecord;
}

/**
 * A backward call frozen at one point, seen as a function to differentiate: the map
 * $`F(x, \theta, dy) = (dx, \partial L/\partial\theta)`$ of a plugin's `forward` + `backward`,
 * whose vector–Jacobian product is the plugin's `doubleBackward`. Slots: `x`, each parameter
 * present (in the order `init` returned them), then `dy`. Output: `dx` then each parameter
 * gradient in slot order, flattened and concatenated (`yShape` is that flat length).
 *
 * The same comparisons that check `backward` against differences of `forward` check
 * `doubleBackward` against differences of `backward` through this map.
 */
export class SecondOrderProblem {
  /** `x`, each parameter, then `dy`. */
  readonly slots: readonly Slot[];
  /** The flat shape of the output: `[size(x) + Σ size(p)]`. */
  readonly yShape: readonly number[];
  /** The output at the point: `dx`, then each parameter gradient, flattened. */
  readonly y: Float64Array;
  /** The shape of the forward output (and of `dy`). */
  readonly forwardShape: readonly number[];
  /** The names of the output blocks in order: `dx`, then `grads.<name>` per parameter. */
  readonly outputNames: readonly string[];
  private readonly saved: object;
  private readonly paramNames: readonly string[];

  /**
   * Runs forward and backward at the point.
   *
   * @param normalizer - the bound normalizer under test (with `doubleBackward`)
   * @param mode - the mode every forward call uses
   * @param x - the input at the point
   * @param params - the parameters at the point
   * @param state - the state every forward call receives (never changed)
   * @param dy - the upstream gradient of the backward call, flat, shaped like `y`
   * @throws whatever the plugin's forward or backward throws, or Error for a gradient of the wrong size
   */
  constructor(
    /** The bound normalizer under test. */
    readonly normalizer: AnyBound,
    /** The mode of every forward call. */
    readonly mode: Mode,
    /** The input at the point. */
    readonly x: Tensor,
    /** The parameters at the point. */
    readonly params: TensorRecord,
    /** The state handed to every forward call. */
    readonly state: TensorRecord,
    dy: Float64Array,
  ) {
    const forward = normalizer.forward({ x, params, state, mode });
    this.forwardShape = forward.y.shape.slice();
    this.saved = forward.saved;
    this.paramNames = Object.keys(params);
    const slots: Slot[] = [{ name: 'x', shape: x.shape.slice(), values: asFloat64(toTypedArray(x)) }];
    for (const [name, p] of Object.entries(params)) slots.push({ name, shape: p.shape.slice(), values: asFloat64(toTypedArray(p)) });
    slots.push({ name: 'dy', shape: this.forwardShape.slice(), values: dy.slice() });
    this.slots = slots;
    this.outputNames = ['dx', ...this.paramNames.map((n) => `grads.${n}`)];
    this.y = this.backwardAt(x, params, this.saved, dy);
    this.yShape = [this.y.length];
  }

  /** The number of elements of the output. */
  get ySize(): number {
    return this.y.length;
  }

  /** The `dy` of the point, flat. */
  get dy(): Float64Array {
    return this.slots[this.slots.length - 1].values;
  }

  private backwardAt(x: Tensor, params: TensorRecord, saved: object, dy: Float64Array): Float64Array {
    const result = this.normalizer.backward({ dy: tensor(dy.slice(), this.forwardShape), params, saved });
    const grads = presentTensors(result.grads);
    const blocks = [result.dx, ...this.paramNames.map((n) => grads[n])];
    const sizes = [x.size, ...this.paramNames.map((n) => params[n].size)];
    let total = 0;
    for (const s of sizes) total += s;
    const out = new Float64Array(total);
    let at = 0;
    blocks.forEach((b, k) => {
      if (b === undefined || b === null || typeof b !== 'object' || !ArrayBuffer.isView(b.data)) throw new Error(`backward: ${this.outputNames[k]} is missing`);
      const flat = toTypedArray(b);
      if (flat.length !== sizes[k]) throw new Error(`backward: ${this.outputNames[k]} has ${flat.length} elements, expected ${sizes[k]}`);
      out.set(flat, at);
      at += sizes[k];
    });
    return out;
  }

  /**
   * The output as a function of one slot: forward (unless the slot is `dy`) and backward
   * with that slot replaced by `values` and everything else as at the point.
   */
  output(slot: number, values: Float64Array): Float64Array {
    const s = this.slots[slot];
    if (slot === this.slots.length - 1) return this.backwardAt(this.x, this.params, this.saved, values);
    const t = tensor(values, s.shape);
    const x = slot === 0 ? t : this.x;
    const params = slot === 0 ? this.params : { ...this.params, [s.name]: t };
    const forward = this.normalizer.forward({ x, params, state: this.state, mode: this.mode });
    return this.backwardAt(x, params, forward.saved, this.dy);
  }

  /** Splits a flat output cotangent into `ddx` and `dgrads` tensors. */
  cotangents(c: Float64Array): {
    /** The cotangent of `dx`, shaped like x. */
    ddx: Tensor;
    /** The cotangent of each parameter gradient, shaped like the parameter. */
    dgrads: TensorRecord;
  } {
    let at = this.x.size;
    const ddx = tensor(c.slice(0, at), this.x.shape.slice());
    const dgrads: TensorRecord = {};
    for (const name of this.paramNames) {
      const p = this.params[name];
      dgrads[name] = tensor(c.slice(at, at + p.size), p.shape.slice());
      at += p.size;
    }
    return { ddx, dgrads };
  }

  /** The plugin's `doubleBackward` for an output cotangent `c` (flat), as it returned it. */
  doubleBackwardRaw(c: Float64Array): DoubleBackwardOutcome {
    const member = this.normalizer.doubleBackward;
    if (typeof member !== 'function') throw new Error(`${this.normalizer.meta.name} has no doubleBackward`);
    const { ddx, dgrads } = this.cotangents(c);
    const result = member({ dy: tensor(this.dy.slice(), this.forwardShape), params: this.params, saved: this.saved, ddx, dgrads });
    return { dx: result.dx, ddy: result.ddy, grads: presentTensors(result.grads) };
  }

  /**
   * The vector–Jacobian product for an output cotangent `c` (flat): one flat array per slot,
   * `∂S/∂x`, `∂S/∂p` per parameter, `∂S/∂dy`, from `doubleBackward`.
   *
   * @throws Error when a result is missing or has the wrong number of elements
   */
  vjp(c: Float64Array): Float64Array[] {
    const { dx, ddy, grads } = this.doubleBackwardRaw(c);
    return this.slots.map((s, k) => {
      const last = k === this.slots.length - 1;
      const g = k === 0 ? dx : last ? ddy : grads[s.name];
      const label = k === 0 ? 'dx' : last ? 'ddy' : `grads.${s.name}`;
      if (g === undefined || g === null || typeof g !== 'object' || !ArrayBuffer.isView(g.data)) {
        throw new Error(`doubleBackward: ${label} is missing`);
      }
      const flat = asFloat64(toTypedArray(g));
      if (flat.length !== s.values.length) {
        throw new Error(`doubleBackward: ${label} has ${flat.length} elements, expected ${s.values.length} (shape [${s.shape.join(', ')}])`);
      }
      return flat;
    });
  }
}
