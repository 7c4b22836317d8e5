import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { InstanceNormInputOptions } from './options.js';
import type { InstanceNormTypes } from './plugin.js';
import { instanceNorm } from './plugin.js';

/** Is there a `weight` and a `bias`, by the type of the options `O` (`affine`, default **false**, as PyTorch)? */
export type InstanceNormAffine<O> = OptionFlag<O, 'affine', false>;

/** Are there running statistics, by the type of the options `O` (`trackRunningStats`, default **false**, as PyTorch)? */
export type InstanceNormTracked<O> = OptionFlag<O, 'trackRunningStats', false>;

/**
 * Instance norm with the feel of PyTorch's `nn.InstanceNorm*d`: a {@link Layer} over the
 * {@link instanceNorm} plugin (no parameters and no running statistics by default, as PyTorch).
 *
 * @example
 * ```ts
 * const inorm = new InstanceNorm({ numFeatures: 64, affine: true });
 * const y = inorm.forward(x);             // x: (N, 64, H, W)
 * const dx = inorm.backward(dy);          // inorm.grads.weight, inorm.grads.bias accumulate
 * ```
 */
export class InstanceNorm<const O extends InstanceNormInputOptions = InstanceNormInputOptions> extends Layer<InstanceNormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<InstanceNormTypes['Params'], NamesIf<InstanceNormAffine<O>, 'weight' | 'bias'>>;
  /** The running statistics, typed present when the options make them present. */
  declare state: LayerTensors<InstanceNormTypes['State'], NamesIf<InstanceNormTracked<O>, 'runningMean' | 'runningVar' | 'numBatchesTracked'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<InstanceNormTypes['Params'], NamesIf<InstanceNormAffine<O>, 'weight' | 'bias'>>;

  /**
   * @param options - instance-norm options (`numFeatures` required; PyTorch's defaults otherwise)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(instanceNorm, options, init);
  }

  /** γ, or `undefined` when `affine` is false. */
  get weight(): TensorIf<InstanceNormAffine<O>> {
    return this.params.weight as TensorIf<InstanceNormAffine<O>>;
  }

  /** β, or `undefined` when `affine` is false. */
  get bias(): TensorIf<InstanceNormAffine<O>> {
    return this.params.bias as TensorIf<InstanceNormAffine<O>>;
  }

  /** The running mean, or `undefined` when `trackRunningStats` is false. */
  get runningMean(): TensorIf<InstanceNormTracked<O>> {
    return this.state.runningMean as TensorIf<InstanceNormTracked<O>>;
  }

  /** The running (unbiased) variance, or `undefined` when `trackRunningStats` is false. */
  get runningVar(): TensorIf<InstanceNormTracked<O>> {
    return this.state.runningVar as TensorIf<InstanceNormTracked<O>>;
  }

  /**
   * The step counter, as batch norm's layer has it: PyTorch's instance norm keeps the
   * `num_batches_tracked` buffer but never increments it, so this stays at its loaded value
   * (0 for a new layer, and 0 without running statistics).
   */
  get numBatchesTracked(): number {
    const t = this.state.numBatchesTracked;
    return t === undefined ? 0 : t.data[t.offset];
  }
}
