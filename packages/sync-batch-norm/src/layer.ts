import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { SyncBatchNormInputOptions } from './options.js';
import type { SyncBatchNormTypes } from './plugin.js';
import { syncBatchNorm } from './plugin.js';

/**
 * Sync batch norm as a stateful layer, with the feel of PyTorch's `nn.SyncBatchNorm`: one
 * replica per participant (worker thread), a {@link Layer} over the {@link syncBatchNorm}
 * plugin. Its gradients (`layer.grads`) are this replica's own; all-reduce them with the rest
 * of the model's before the optimizer step.
 *
 * @example
 * ```ts
 * const allReduce = connectSharedAllReduce(workerData.allReduce);
 * const bn = new SyncBatchNorm({ numFeatures: 16, allReduce }, { dtype: 'float64' });
 * const y = bn.forward(myShareOfTheBatch);   // statistics of every share together
 * const dx = bn.backward(dy);                // gradient w.r.t. the global statistics
 * ```
 */
export class SyncBatchNorm extends Layer<SyncBatchNormTypes> {
  /**
   * @param options - sync-batch-norm options (`numFeatures` required; `allReduce` for a group)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: SyncBatchNormInputOptions, init: LayerInit = {}) {
    super(syncBatchNorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): Tensor | undefined {
    return this.params.weight;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): Tensor | undefined {
    return this.params.bias;
  }

  /** The running mean (the same on every participant), or `undefined` without running statistics. */
  get runningMean(): Tensor | undefined {
    return this.state.runningMean;
  }

  /** The running (unbiased, over the global count) variance, or `undefined` without running statistics. */
  get runningVar(): Tensor | undefined {
    return this.state.runningVar;
  }

  /** How many training steps updated the running statistics. */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
