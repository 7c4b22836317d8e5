import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { BatchRenormInputOptions } from './options.js';
import type { BatchRenormTypes } from './plugin.js';
import { batchRenorm } from './plugin.js';

/**
 * Batch renormalization as a stateful layer, with the feel of PyTorch's `nn.BatchNorm*d`:
 * a {@link Layer} over the {@link batchRenorm} plugin that holds its parameters, running
 * statistics and gradients. The correction limits follow the step count
 * (`numBatchesTracked`) when they are schedules.
 *
 * @example
 * ```ts
 * const layer = new BatchRenorm({ numFeatures: 64, ...batchRenormSchedule() });
 * const y = layer.forward(x);     // train: batch statistics, corrected by r and d
 * const dx = layer.backward(dy);  // r and d are constants here
 * layer.eval();                   // batch norm's eval: the running statistics
 * ```
 */
export class BatchRenorm extends Layer<BatchRenormTypes> {
  /**
   * @param options - batch-renorm options (`numFeatures` required)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: BatchRenormInputOptions, init: LayerInit = {}) {
    super(batchRenorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): Tensor | undefined {
    return this.params.weight;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): Tensor | undefined {
    return this.params.bias;
  }

  /** The running mean. */
  get runningMean(): Tensor | undefined {
    return this.state.runningMean;
  }

  /** The running (unbiased) variance. */
  get runningVar(): Tensor | undefined {
    return this.state.runningVar;
  }

  /** How many training steps updated the running statistics: the step the limits are evaluated at. */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
