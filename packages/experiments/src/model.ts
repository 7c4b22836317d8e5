import { Layer, fromArray, tensor, toTypedArray } from '@normkit/core';
import type { Dtype, Tensor, TensorMap } from '@normkit/core';
import { BatchNorm } from '@normkit/batch-norm';
import { LayerNorm } from '@normkit/layer-norm';
import { WeightNormLinear } from '@normkit/weight-norm';
import { Dense } from './layers/dense.js';
import { NoisyBatchNorm } from './layers/noisy-batch-norm.js';
import type { NoiseOptions } from './layers/noisy-batch-norm.js';
import { Relu } from './layers/relu.js';
import { tensorOf } from './optim.js';
import type { ParamRef } from './optim.js';

/** The normalization variants of the network. */
export const VARIANTS = ['none', 'batch-norm', 'noisy-batch-norm', 'layer-norm', 'weight-norm'] as const;
/** One variant. */
export type Variant = (typeof VARIANTS)[number];

/** The architecture. */
export interface MlpConfig {
  readonly inputs: number;
  readonly hidden: number;
  readonly depth: number;
  readonly classes: number;
  /** Seed of the initial weights: the same for every variant. */
  readonly seed: number;
  readonly dtype: Dtype;
  /** The noise of the noisy-batch-norm variant (its seed is mixed with the layer index). */
  readonly noise?: Partial<NoiseOptions>;
}

/**
 * A deep MLP: `depth` blocks `linear → [norm] → ReLU`, then a dense layer to the logits.
 *
 * - `none`: `Dense → ReLU`;
 * - `batch-norm` / `noisy-batch-norm`: `Dense (no bias) → norm → ReLU`;
 * - `layer-norm`: `Dense → LayerNorm → ReLU`;
 * - `weight-norm`: `WeightNormLinear → ReLU`, with `v` set to the same initial weights,
 *   then the data-dependent initialization on one batch ({@link Mlp.initFromBatch}).
 *
 * Every variant starts from the same weights: dense layer h draws its He-normal weights
 * from seed `seed + h` whatever the variant.
 */
export class Mlp {
  readonly variant: Variant;
  readonly config: MlpConfig;
  /** Every layer, in order. */
  readonly layers: Layer[];
  /** The indices in {@link Mlp.layers} of the hidden linear layers. */
  readonly linearIndices: number[];

  constructor(variant: Variant, config: MlpConfig) {
    this.variant = variant;
    this.config = config;
    const init = { dtype: config.dtype };
    const layers: Layer[] = [];
    const linear: number[] = [];
    for (let h = 0; h < config.depth; h++) {
      const inF = h === 0 ? config.inputs : config.hidden;
      // Before batch norm a bias is redundant (β takes its place; its gradient is exactly 0).
      const biased = variant !== 'batch-norm' && variant !== 'noisy-batch-norm';
      const dense = new Dense({ inFeatures: inF, outFeatures: config.hidden, seed: config.seed + h, inputGrad: h > 0, bias: biased }, init);
      linear.push(layers.length);
      if (variant === 'weight-norm') {
        const wn = new WeightNormLinear({ inFeatures: inF, outFeatures: config.hidden }, init);
        // v = Wᵀ (WeightNormLinear stores (out, in)), g = ‖v‖ row-wise: the same function as `dense`.
        const w = toTypedArray(tensorOf({ id: '', layer: dense, name: 'weight' }));
        const v = new Float64Array(inF * config.hidden);
        const g = new Float64Array(config.hidden);
        for (let k = 0; k < inF; k++) for (let j = 0; j < config.hidden; j++) v[j * inF + k] = w[k * config.hidden + j];
        for (let j = 0; j < config.hidden; j++) {
          let s = 0;
          for (let k = 0; k < inF; k++) s += v[j * inF + k] ** 2;
          g[j] = Math.sqrt(s);
        }
        wn.params = { v: fromArray(v, [config.hidden, inF], config.dtype), g: fromArray(g, [config.hidden], config.dtype), bias: fromArray(new Float64Array(config.hidden), [config.hidden], config.dtype) };
        layers.push(wn);
      } else {
        layers.push(dense);
      }
      if (variant === 'batch-norm') layers.push(new BatchNorm({ numFeatures: config.hidden }, init));
      if (variant === 'noisy-batch-norm') {
        layers.push(new NoisyBatchNorm({ numFeatures: config.hidden, ...config.noise, seed: ((config.noise?.seed ?? 0) + 1000 * h) >>> 0 }, init));
      }
      if (variant === 'layer-norm') layers.push(new LayerNorm({ normalizedShape: config.hidden }, init));
      layers.push(new Relu(init));
    }
    layers.push(new Dense({ inFeatures: config.hidden, outFeatures: config.classes, seed: config.seed + config.depth }, init));
    this.layers = layers;
    this.linearIndices = linear;
  }

  /** Salimans & Kingma's data-dependent init of every weight-normalized layer, in order, on one batch. */
  initFromBatch(x: Tensor): void {
    if (this.variant !== 'weight-norm') return;
    let h = x;
    for (const layer of this.layers) {
      if (layer instanceof WeightNormLinear) layer.initFromBatch(h);
      h = layer.forward(h);
    }
  }

  /** Logits for a batch `(N, inputs)`. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
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
  snapshot(): { params: TensorMap<string>[]; state: TensorMap<string>[] } {
    return { params: this.layers.map((l) => l.params), state: this.layers.map((l) => l.state) };
  }

  /** Puts back what {@link Mlp.snapshot} returned. */
  restore(snap: { params: TensorMap<string>[]; state: TensorMap<string>[] }): void {
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

  /** All gradients, concatenated in {@link Mlp.parameters} order, float64. */
  flatGrad(): Float64Array {
    return this.#flatten((ref) => (ref.layer.grads as Record<string, Tensor>)[ref.name]);
  }

  /** All parameters, concatenated, float64. */
  flatParams(): Float64Array {
    return this.#flatten((ref) => tensorOf(ref));
  }

  /**
   * Replaces every parameter by a new tensor `θ + α·d` (d flat, in {@link Mlp.parameters}
   * order). The old tensors are untouched, so a {@link Mlp.snapshot} taken before restores them.
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
