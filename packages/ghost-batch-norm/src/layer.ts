import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { GhostBatchNormInputOptions } from './options.js';
import type { GhostBatchNormTypes } from './plugin.js';
import { ghostBatchNorm } from './plugin.js';

/** Is there a `weight` and a `bias`, by the type of the options `O` (`affine`, default true)? */
export type GhostBatchNormAffine<O> = OptionFlag<O, 'affine', true>;

/** Are there running statistics, by the type of the options `O` (`trackRunningStats`, default true)? */
export type GhostBatchNormTracked<O> = OptionFlag<O, 'trackRunningStats', true>;

/**
 * Ghost batch norm as a stateful layer, with the feel of PyTorch's `nn.BatchNorm*d`: a
 * {@link Layer} over the {@link ghostBatchNorm} plugin that holds its parameters, running
 * statistics and gradients. Training normalizes each virtual batch by its own statistics;
 * eval uses the running statistics, for any batch size.
 *
 * @example
 * ```ts
 * const layer = new GhostBatchNorm({ numFeatures: 64, virtualBatchSize: 32 });
 * const y = layer.forward(x);     // x: (512, 64, …) → 16 virtual batches of 32
 * const dx = layer.backward(dy);
 * layer.eval();                   // batch norm's eval, any batch size
 * ```
 */
export class GhostBatchNorm<const O extends GhostBatchNormInputOptions = GhostBatchNormInputOptions> extends Layer<GhostBatchNormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<GhostBatchNormTypes['Params'], NamesIf<GhostBatchNormAffine<O>, 'weight' | 'bias'>>;
  /** The running statistics, typed present when the options make them present. */
  declare state: LayerTensors<GhostBatchNormTypes['State'], NamesIf<GhostBatchNormTracked<O>, 'runningMean' | 'runningVar' | 'numBatchesTracked'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<GhostBatchNormTypes['Params'], NamesIf<GhostBatchNormAffine<O>, 'weight' | 'bias'>>;

  /**
   * @param options - ghost-batch-norm options (`numFeatures` and `virtualBatchSize` required)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(ghostBatchNorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): TensorIf<GhostBatchNormAffine<O>> {
    return this.params.weight as TensorIf<GhostBatchNormAffine<O>>;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): TensorIf<GhostBatchNormAffine<O>> {
    return this.params.bias as TensorIf<GhostBatchNormAffine<O>>;
  }

  /** The running mean, or `undefined` when `trackRunningStats` is false. */
  get runningMean(): TensorIf<GhostBatchNormTracked<O>> {
    return this.state.runningMean as TensorIf<GhostBatchNormTracked<O>>;
  }

  /** The running (unbiased) variance, or `undefined` when `trackRunningStats` is false. */
  get runningVar(): TensorIf<GhostBatchNormTracked<O>> {
    return this.state.runningVar as TensorIf<GhostBatchNormTracked<O>>;
  }

  /** How many training steps updated the running statistics (one per step, not per virtual batch). */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
