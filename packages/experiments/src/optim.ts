import { isContiguous, sizeOf } from '@normkit/core';
import type { Layer, Tensor } from '@normkit/core';

/** A parameter of a layer, as the optimizer sees it. */
export interface ParamRef {
  /** `layerIndex.name`, for reports. */
  readonly id: string;
  readonly layer: Layer;
  readonly name: string;
}

/** Options of {@link SgdMomentum}. */
export interface SgdOptions {
  /** The learning rate η. */
  readonly lr: number;
  /** The momentum μ (default 0.9). */
  readonly momentum?: number;
}

/**
 * Stochastic gradient descent with heavy-ball momentum, PyTorch's form:
 *
 * ```
 * v ← μ·v + g          θ ← θ − η·v          (v = 0 before the first step)
 * ```
 *
 * It reads each layer's accumulated `grads` and updates `params` **in place** (the layers
 * own their parameter tensors; nothing else keeps a reference across steps). The velocity
 * is kept in float64.
 */
export class SgdMomentum {
  readonly lr: number;
  readonly momentum: number;
  readonly #params: readonly ParamRef[];
  readonly #velocity: Float64Array[];

  constructor(params: readonly ParamRef[], options: SgdOptions) {
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0.9;
    this.#params = params;
    this.#velocity = params.map((p) => new Float64Array(sizeOf(tensorOf(p).shape)));
  }

  /** One update from the gradients the layers hold now. */
  step(): void {
    for (let k = 0; k < this.#params.length; k++) {
      const ref = this.#params[k];
      const p = tensorOf(ref);
      const g = (ref.layer.grads as Record<string, Tensor | undefined>)[ref.name];
      if (g === undefined) throw new Error(`SgdMomentum: no gradient for ${ref.id}`);
      if (!isContiguous(p) || !isContiguous(g)) throw new Error(`SgdMomentum: ${ref.id} is not contiguous`);
      const v = this.#velocity[k];
      const pd = p.data;
      const gd = g.data;
      for (let i = 0, pi = p.offset, gi = g.offset; i < v.length; i++, pi++, gi++) {
        v[i] = this.momentum * v[i] + gd[gi];
        pd[pi] -= this.lr * v[i];
      }
    }
  }
}

/** The tensor a {@link ParamRef} points at now. */
export function tensorOf(ref: ParamRef): Tensor {
  const t = (ref.layer.params as Record<string, Tensor | undefined>)[ref.name];
  if (t === undefined) throw new Error(`no parameter ${ref.id}`);
  return t;
}
