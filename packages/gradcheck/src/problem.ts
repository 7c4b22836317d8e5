import { tensor, toTypedArray } from '@normkit/core';
import type { BoundNormalizer, Mode, Normalizer, NormalizerTypes, Tensor } from '@normkit/core';

/**
 * The type bag every plugin is seen through inside the checker: any parameter and state
 * names, options and saved values opaque.
 */
export interface AnyTypes extends NormalizerTypes {
  InputOptions: object;
  Options: object;
  Params: string;
  State: string;
  Saved: object;
}

/** A plugin seen through {@link AnyTypes}. */
export type AnyNormalizer = Normalizer<AnyTypes>;

/** A bound normalizer seen through {@link AnyTypes}. */
export type AnyBound = BoundNormalizer<AnyTypes>;

/** A record of named tensors. */
export type TensorRecord = Record<string, Tensor>;

/** One differentiable input of a forward call: `x` or a parameter. */
export interface Slot {
  /** `'x'` or the parameter name. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its values at the point of differentiation, row-major (never modified). */
  readonly values: Float64Array;
}

/** The tensors present in a record, without `undefined` entries. */
export function presentTensors(map: object): TensorRecord {
  const out: TensorRecord = {};
  for (const [key, value] of Object.entries(map)) if (value !== undefined) out[key] = value as Tensor;
  return out;
}

/**
 * A forward call frozen at one point (options, mode, x, params, state) with the function
 * of each differentiable input and the vector–Jacobian product at that point: what the
 * numeric and analytic Jacobian code works on.
 */
export class Problem {
  /** `x` first, then each parameter present, in the order `init` returned them. */
  readonly slots: readonly Slot[];
  /** The shape of y. */
  readonly yShape: readonly number[];
  /** y at the point, row-major. */
  readonly y: Float64Array;
  /** y as forward returned it (for the shape and dtype checks). */
  readonly yTensor: Tensor;
  /** What forward returned for backward (the backward calls of the check receive it). */
  readonly saved: object;

  /**
   * Runs the forward pass at the point.
   *
   * @param normalizer - the bound normalizer under test
   * @param mode - the mode every call uses
   * @param x - the input at which the Jacobian is taken
   * @param params - the parameters at that point
   * @param state - the state every forward call receives (never changed)
   * @throws whatever the plugin's forward throws
   */
  constructor(
    /** The bound normalizer under test. */
    readonly normalizer: AnyBound,
    /** The mode of every call. */
    readonly mode: Mode,
    /** The input at the point of the check. */
    readonly x: Tensor,
    /** The parameters at the point of the check. */
    readonly params: TensorRecord,
    /** The state handed to every forward call. */
    readonly state: TensorRecord,
  ) {
    const result = normalizer.forward({ x, params, state, mode });
    this.yShape = result.y.shape.slice();
    this.y = asFloat64(toTypedArray(result.y));
    this.yTensor = result.y;
    this.saved = result.saved;
    const slots: Slot[] = [{ name: 'x', shape: x.shape.slice(), values: asFloat64(toTypedArray(x)) }];
    for (const [name, p] of Object.entries(params)) slots.push({ name, shape: p.shape.slice(), values: asFloat64(toTypedArray(p)) });
    this.slots = slots;
  }

  /** The number of elements of y. */
  get ySize(): number {
    return this.y.length;
  }

  /**
   * y as a function of one slot: forward with that slot replaced by `values` (wrapped
   * without a copy) and everything else as at the point.
   *
   * @throws Error when y changes size
   */
  output(slot: number, values: Float64Array): Float64Array {
    const s = this.slots[slot];
    const t = tensor(values, s.shape);
    const x = slot === 0 ? t : this.x;
    const params = slot === 0 ? this.params : { ...this.params, [s.name]: t };
    const y = asFloat64(toTypedArray(this.normalizer.forward({ x, params, state: this.state, mode: this.mode }).y));
    if (y.length !== this.y.length) throw new Error(`forward: y changed size from ${this.y.length} to ${y.length} under a perturbation of ${s.name}`);
    return y;
  }

  /** The raw backward result for `dy` (shaped like y) at the point. */
  backwardRaw(dy: Tensor): {
    /** ∂L/∂x as the plugin returned it. */
    dx: Tensor;
    /** The parameter gradients as the plugin returned them. */
    grads: TensorRecord;
  } {
    const result = this.normalizer.backward({ dy, params: this.params, saved: this.saved });
    return { dx: result.dx, grads: presentTensors(result.grads) };
  }

  /**
   * The vector–Jacobian products for cotangent `dy` (flat, y's row-major order): one flat
   * array per slot, in slot order. Shapes are not checked here (the shape contract does
   * that); sizes are.
   *
   * @throws Error when a gradient is missing or has the wrong number of elements
   */
  vjp(dy: Float64Array): Float64Array[] {
    // A copy, so a backward that writes into dy cannot corrupt the caller's cotangent
    // (that bug is reported by the backward-purity check instead).
    const { dx, grads } = this.backwardRaw(tensor(dy.slice(), this.yShape));
    return this.slots.map((s, k) => {
      const g = k === 0 ? dx : grads[s.name];
      const label = k === 0 ? 'dx' : `grads.${s.name}`;
      if (g === undefined || g === null || typeof g !== 'object' || !ArrayBuffer.isView(g.data)) {
        throw new Error(`backward: ${label} is missing`);
      }
      const flat = asFloat64(toTypedArray(g));
      if (flat.length !== s.values.length) {
        throw new Error(`backward: ${label} has ${flat.length} elements, expected ${s.values.length} (shape [${s.shape.join(', ')}])`);
      }
      return flat;
    });
  }
}

/** A `Float64Array` with the same values (the same array when it already is one). */
export function asFloat64(values: Float32Array | Float64Array): Float64Array {
  return values instanceof Float64Array ? values : Float64Array.from(values);
}

/** The values of a tensor, row-major, in float64. */
export function flatValues(t: Tensor): Float64Array {
  return asFloat64(toTypedArray(t));
}
