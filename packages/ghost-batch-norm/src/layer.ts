import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { GhostBatchNormInputOptions } from './options.js';
import type { GhostBatchNormTypes } from './plugin.js';
import { ghostBatchNorm } from './plugin.js';

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
export class GhostBatchNorm extends Layer<GhostBatchNormTypes> {
  /**
   * @param options - ghost-batch-norm options (`numFeatures` and `virtualBatchSize` required)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: GhostBatchNormInputOptions, init: LayerInit = {}) {
    super(ghostBatchNorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): Tensor | undefined {
    return this.params.weight;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): Tensor | undefined {
    return this.params.bias;
  }

  /** The running mean, or `undefined` when `trackRunningStats` is false. */
  get runningMean(): Tensor | undefined {
    return this.state.runningMean;
  }

  /** The running (unbiased) variance, or `undefined` when `trackRunningStats` is false. */
  get runningVar(): Tensor | undefined {
    return this.state.runningVar;
  }

  /** How many training steps updated the running statistics (one per step, not per virtual batch). */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
