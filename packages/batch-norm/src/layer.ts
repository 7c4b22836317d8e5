import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { BatchNormInputOptions } from './options.js';
import type { BatchNormTypes } from './plugin.js';
import { batchNorm } from './plugin.js';

/** Is there a `weight` and a `bias`, by the type of the options `O` (`affine`, default true)? */
export type BatchNormAffine<O> = OptionFlag<O, 'affine', true>;

/** Are there running statistics, by the type of the options `O` (`trackRunningStats`, default true)? */
export type BatchNormTracked<O> = OptionFlag<O, 'trackRunningStats', true>;

/**
 * Batch norm with the feel of PyTorch's `nn.BatchNorm*d`: a {@link Layer} over the
 * {@link batchNorm} plugin that holds its parameters, running statistics and gradients.
 *
 * The options' type decides what is typed present: with `affine` left out or `true`,
 * `weight`, `bias`, `params.weight` and `grads.weight` are `Tensor` (no `!` needed); with
 * `affine: false` they are `undefined`; the same for the running statistics and
 * `trackRunningStats`. Options held in a variable of type `BatchNormInputOptions` leave
 * them `Tensor | undefined`.
 *
 * @example
 * ```ts
 * const bn = new BatchNorm({ numFeatures: 64 });   // float32 by default
 * const y = bn.forward(x);                          // train mode: batch statistics
 * const dx = bn.backward(dy);                       // bn.grads.weight, bn.grads.bias accumulate
 * bn.eval();                                        // running statistics from now on
 * ```
 */
export class BatchNorm<const O extends BatchNormInputOptions = BatchNormInputOptions> extends Layer<BatchNormTypes> {
  /** γ and β, typed present when the options make them present. */
  declare params: LayerTensors<BatchNormTypes['Params'], NamesIf<BatchNormAffine<O>, 'weight' | 'bias'>>;
  /** The running statistics, typed present when the options make them present. */
  declare state: LayerTensors<BatchNormTypes['State'], NamesIf<BatchNormTracked<O>, BatchNormTypes['State']>>;
  /** Accumulated gradients of γ and β, typed as {@link BatchNorm.params}. */
  declare readonly grads: LayerTensors<BatchNormTypes['Params'], NamesIf<BatchNormAffine<O>, 'weight' | 'bias'>>;

  /**
   * @param options - batch-norm options (`numFeatures` required; PyTorch's defaults otherwise)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(batchNorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): TensorIf<BatchNormAffine<O>> {
    return this.params.weight as TensorIf<BatchNormAffine<O>>;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): TensorIf<BatchNormAffine<O>> {
    return this.params.bias as TensorIf<BatchNormAffine<O>>;
  }

  /** The running mean, or `undefined` when `trackRunningStats` is false. */
  get runningMean(): TensorIf<BatchNormTracked<O>> {
    return this.state.runningMean as TensorIf<BatchNormTracked<O>>;
  }

  /** The running variance (unbiased; biased with `unbiasedRunningVar: false`), or `undefined` when `trackRunningStats` is false. */
  get runningVar(): TensorIf<BatchNormTracked<O>> {
    return this.state.runningVar as TensorIf<BatchNormTracked<O>>;
  }

  /** How many training batches updated the running statistics (0 without them). */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
