import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { SyncBatchNormInputOptions } from './options.js';
import type { SyncBatchNormTypes } from './plugin.js';
import { syncBatchNorm } from './plugin.js';

/** Is there a `weight` and a `bias`, by the type of the options `O` (`affine`, default true)? */
export type SyncBatchNormAffine<O> = OptionFlag<O, 'affine', true>;

/** Are there running statistics, by the type of the options `O` (`trackRunningStats`, default true)? */
export type SyncBatchNormTracked<O> = OptionFlag<O, 'trackRunningStats', true>;

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
export class SyncBatchNorm<const O extends SyncBatchNormInputOptions = SyncBatchNormInputOptions> extends Layer<SyncBatchNormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<SyncBatchNormTypes['Params'], NamesIf<SyncBatchNormAffine<O>, 'weight' | 'bias'>>;
  /** The running statistics, typed present when the options make them present. */
  declare state: LayerTensors<SyncBatchNormTypes['State'], NamesIf<SyncBatchNormTracked<O>, 'runningMean' | 'runningVar' | 'numBatchesTracked'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<SyncBatchNormTypes['Params'], NamesIf<SyncBatchNormAffine<O>, 'weight' | 'bias'>>;

  /**
   * @param options - sync-batch-norm options (`numFeatures` required; `allReduce` for a group)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(syncBatchNorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): TensorIf<SyncBatchNormAffine<O>> {
    return this.params.weight as TensorIf<SyncBatchNormAffine<O>>;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): TensorIf<SyncBatchNormAffine<O>> {
    return this.params.bias as TensorIf<SyncBatchNormAffine<O>>;
  }

  /** The running mean (the same on every participant), or `undefined` without running statistics. */
  get runningMean(): TensorIf<SyncBatchNormTracked<O>> {
    return this.state.runningMean as TensorIf<SyncBatchNormTracked<O>>;
  }

  /** The running (unbiased, over the global count) variance, or `undefined` without running statistics. */
  get runningVar(): TensorIf<SyncBatchNormTracked<O>> {
    return this.state.runningVar as TensorIf<SyncBatchNormTracked<O>>;
  }

  /** How many training steps updated the running statistics. */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
