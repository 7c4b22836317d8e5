import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { BatchNormInputOptions } from './options.js';
import type { BatchNormTypes } from './plugin.js';
import { batchNorm } from './plugin.js';

/**
 * Batch norm with the feel of PyTorch's `nn.BatchNorm*d`: a {@link Layer} over the
 * {@link batchNorm} plugin that holds its parameters, running statistics and gradients.
 *
 * @example
 * ```ts
 * const bn = new BatchNorm({ numFeatures: 64 });   // float32 by default
 * const y = bn.forward(x);                          // train mode: batch statistics
 * const dx = bn.backward(dy);                       // bn.grads.weight, bn.grads.bias accumulate
 * bn.eval();                                        // running statistics from now on
 * ```
 */
export class BatchNorm extends Layer<BatchNormTypes> {
  /**
   * @param options - batch-norm options (`numFeatures` required; PyTorch's defaults otherwise)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: BatchNormInputOptions, init: LayerInit = {}) {
    super(batchNorm, options, init);
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

  /** How many training batches updated the running statistics (0 without them). */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
