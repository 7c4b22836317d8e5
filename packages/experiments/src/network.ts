import { tensor, toTypedArray } from '@normkit/core';
import type { Layer, Tensor, TensorMap } from '@normkit/core';
import { tensorOf } from './optim.js';
import type { ParamRef } from './optim.js';

/** What {@link Network.snapshot} returns: every layer's parameter and state tensors, by reference. */
export interface NetworkSnapshot {
  readonly params: TensorMap<string>[];
  readonly state: TensorMap<string>[];
}

/**
 * A sequential network of normkit layers ending in logits: the training loop, the landscape
 * probe, the Hessian–vector products and the diagnostics only need what is here. The MLP
 * ({@link Mlp} in `model.ts`) and the CNN of the batch-size sweep extend it.
 */
export class Network {
  /** Every layer, in order. */
  readonly layers: Layer[];
  /** The number of classes (the width of the logits). */
  readonly classes: number;

  constructor(layers: Layer[], classes: number) {
    this.layers = layers;
    this.classes = classes;
  }

  /** The network's output (logits) for a batch. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }

  /** {@link Network.forward}, keeping every layer's output (the last one is the logits). */
  forwardKeep(x: Tensor): Tensor[] {
    const outputs: Tensor[] = [];
    let h = x;
    for (const layer of this.layers) {
      h = layer.forward(h);
      outputs.push(h);
    }
    return outputs;
  }

  /** Backward from `∂L/∂logits` through the last forward call; gradients accumulate in the layers. */
  backward(dLogits: Tensor): void {
    let g = dLogits;
    for (let k = this.layers.length - 1; k >= 0; k--) g = this.layers[k].backward(g);
  }

  zeroGrad(): void {
    for (const layer of this.layers) layer.zeroGrad();
  }

  train(): void {
    for (const layer of this.layers) layer.train();
  }

  eval(): void {
    for (const layer of this.layers) layer.eval();
  }

  /** Every trainable parameter. */
  parameters(): ParamRef[] {
    const out: ParamRef[] = [];
    this.layers.forEach((layer, k) => {
      for (const name of Object.keys(layer.params)) out.push({ id: `${k}.${name}`, layer, name });
    });
    return out;
  }

  /** The parameter and state tensors of every layer, by reference (forward never mutates them; the optimizer does). */
  snapshot(): NetworkSnapshot {
    return { params: this.layers.map((l) => l.params), state: this.layers.map((l) => l.state) };
  }

  /** Puts back what {@link Network.snapshot} returned. */
  restore(snap: NetworkSnapshot): void {
    this.layers.forEach((l, k) => {
      l.params = snap.params[k];
      l.state = snap.state[k];
    });
  }

  /** Only the state (running statistics, the noise step counter). */
  restoreState(state: TensorMap<string>[]): void {
    this.layers.forEach((l, k) => {
      l.state = state[k];
    });
  }

  /** All gradients, concatenated in {@link Network.parameters} order, float64. */
  flatGrad(): Float64Array {
    return this.#flatten((ref) => (ref.layer.grads as Record<string, Tensor>)[ref.name]);
  }

  /** All parameters, concatenated, float64. */
  flatParams(): Float64Array {
    return this.#flatten((ref) => tensorOf(ref));
  }

  /**
   * Replaces every parameter by a new tensor `θ + α·d` (d flat, in {@link Network.parameters}
   * order). The old tensors are untouched, so a {@link Network.snapshot} taken before restores them.
   */
  setShifted(base: Float64Array, alpha: number, direction: Float64Array): void {
    let offset = 0;
    for (const layer of this.layers) {
      const next: Record<string, Tensor> = {};
      for (const [name, p] of Object.entries(layer.params as Record<string, Tensor>)) {
        const values = new (p.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(p.size);
        for (let i = 0; i < values.length; i++) values[i] = base[offset + i] + alpha * direction[offset + i];
        offset += values.length;
        next[name] = tensor(values, p.shape);
      }
      layer.params = next;
    }
  }

  #flatten(get: (ref: ParamRef) => Tensor): Float64Array {
    const refs = this.parameters();
    const total = refs.reduce((s, r) => s + tensorOf(r).size, 0);
    const out = new Float64Array(total);
    let offset = 0;
    for (const ref of refs) {
      const values = toTypedArray(get(ref));
      out.set(values, offset);
      offset += values.length;
    }
    return out;
  }
}
