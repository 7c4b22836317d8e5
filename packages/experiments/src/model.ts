import { fromArray, toTypedArray } from '@normkit/core';
import type { Dtype, Layer, Tensor } from '@normkit/core';
import { BatchNorm } from '@normkit/batch-norm';
import { LayerNorm } from '@normkit/layer-norm';
import { WeightNormLinear } from '@normkit/weight-norm';
import { Dense } from './layers/dense.js';
import { NoisyBatchNorm } from './layers/noisy-batch-norm.js';
import type { NoiseOptions } from './layers/noisy-batch-norm.js';
import { Relu } from './layers/relu.js';
import { Network } from './network.js';
import { tensorOf } from './optim.js';

/** The normalization variants of the main comparison. */
export const VARIANTS = ['none', 'batch-norm', 'noisy-batch-norm', 'layer-norm', 'weight-norm'] as const;
/**
 * Variants that isolate a cause of the failures at the large learning rate: layer norm
 * without the bias of the dense layer before it, and weight norm without the data-dependent
 * initialization (`g = ‖v‖`, bias 0: at step 0 the same function as the plain network).
 */
export const ABLATIONS = ['layer-norm-no-bias', 'weight-norm-no-init'] as const;
/** One variant. */
export type Variant = (typeof VARIANTS)[number] | (typeof ABLATIONS)[number];

/** The layers of one hidden block, as indices into {@link Network.layers}. */
export interface Block {
  /** The linear layer (`Dense` or `WeightNormLinear`). */
  readonly linear: number;
  /** The normalization layer, if the variant has one after the linear layer. */
  readonly norm: number | null;
  /** The ReLU. */
  readonly relu: number;
}

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
 * - `layer-norm`: `Dense → LayerNorm → ReLU`; `layer-norm-no-bias`: the dense layer has no bias;
 * - `weight-norm`: `WeightNormLinear → ReLU`, with `v` set to the same initial weights,
 *   then the data-dependent initialization on one batch ({@link Mlp.initFromBatch});
 *   `weight-norm-no-init`: the same without it (`g = ‖v‖`, bias 0).
 *
 * Every variant starts from the same weights: dense layer h draws its He-normal weights
 * from seed `seed + h` whatever the variant.
 */
export class Mlp extends Network {
  readonly variant: Variant;
  readonly config: MlpConfig;
  /** The hidden blocks. */
  readonly blocks: Block[];

  constructor(variant: Variant, config: MlpConfig) {
    const { layers, blocks } = buildMlp(variant, config);
    super(layers, config.classes);
    this.variant = variant;
    this.config = config;
    this.blocks = blocks;
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
}

/** The layers of {@link Mlp} and where its blocks are. */
function buildMlp(variant: Variant, config: MlpConfig): { layers: Layer[]; blocks: Block[] } {
  const init = { dtype: config.dtype };
    const layers: Layer[] = [];
  const blocks: Block[] = [];
  for (let h = 0; h < config.depth; h++) {
    const inF = h === 0 ? config.inputs : config.hidden;
    // Before batch norm a bias is redundant (β takes its place; its gradient is exactly 0).
    const biased = variant !== 'batch-norm' && variant !== 'noisy-batch-norm' && variant !== 'layer-norm-no-bias';
    const dense = new Dense({ inFeatures: inF, outFeatures: config.hidden, seed: config.seed + h, inputGrad: h > 0, bias: biased }, init);
    const linear = layers.length;
    if (variant === 'weight-norm' || variant === 'weight-norm-no-init') {
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
    const norm = variant === 'none' || variant.startsWith('weight-norm') ? null : layers.length;
    if (variant === 'batch-norm') layers.push(new BatchNorm({ numFeatures: config.hidden }, init));
    if (variant === 'noisy-batch-norm') {
      layers.push(new NoisyBatchNorm({ numFeatures: config.hidden, ...config.noise, seed: ((config.noise?.seed ?? 0) + 1000 * h) >>> 0 }, init));
    }
    if (variant === 'layer-norm' || variant === 'layer-norm-no-bias') layers.push(new LayerNorm({ normalizedShape: config.hidden }, init));
    blocks.push({ linear, norm, relu: layers.length });
    layers.push(new Relu(init));
  }
  layers.push(new Dense({ inFeatures: config.hidden, outFeatures: config.classes, seed: config.seed + config.depth }, init));
  return { layers, blocks };
}
