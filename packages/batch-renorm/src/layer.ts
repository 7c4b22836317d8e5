import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, Tensor, TensorIf } from '@normkit/core';
import type { BatchRenormInputOptions } from './options.js';
import type { BatchRenormTypes } from './plugin.js';
import { batchRenorm } from './plugin.js';

/** Is there a `weight` and a `bias`, by the type of the options `O` (`affine`, default true)? */
export type BatchRenormAffine<O> = OptionFlag<O, 'affine', true>;

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
export class BatchRenorm<const O extends BatchRenormInputOptions = BatchRenormInputOptions> extends Layer<BatchRenormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<BatchRenormTypes['Params'], NamesIf<BatchRenormAffine<O>, 'weight' | 'bias'>>;
  /** The running statistics, typed present when the options make them present. */
  declare state: LayerTensors<BatchRenormTypes['State'], 'runningMean' | 'runningVar' | 'numBatchesTracked'>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<BatchRenormTypes['Params'], NamesIf<BatchRenormAffine<O>, 'weight' | 'bias'>>;

  /**
   * @param options - batch-renorm options (`numFeatures` required)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(batchRenorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): TensorIf<BatchRenormAffine<O>> {
    return this.params.weight as TensorIf<BatchRenormAffine<O>>;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): TensorIf<BatchRenormAffine<O>> {
    return this.params.bias as TensorIf<BatchRenormAffine<O>>;
  }

  /** The running mean. */
  get runningMean(): Tensor {
    return this.state.runningMean;
  }

  /** The running (unbiased) variance. */
  get runningVar(): Tensor {
    return this.state.runningVar;
  }

  /** How many training steps updated the running statistics: the step the limits are evaluated at. */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
