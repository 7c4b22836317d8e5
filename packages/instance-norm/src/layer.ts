import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { InstanceNormInputOptions } from './options.js';
import type { InstanceNormTypes } from './plugin.js';
import { instanceNorm } from './plugin.js';

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
export class InstanceNorm extends Layer<InstanceNormTypes> {
  /**
   * @param options - instance-norm options (`numFeatures` required; PyTorch's defaults otherwise)
   * @param init - dtype of parameters and running statistics (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: InstanceNormInputOptions, init: LayerInit = {}) {
    super(instanceNorm, options, init);
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
}
