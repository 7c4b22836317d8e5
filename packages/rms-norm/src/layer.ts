import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { RmsNormInputOptions } from './options.js';
import type { RmsNormTypes } from './plugin.js';
import { rmsNorm } from './plugin.js';

/**
 * RMS norm with the feel of PyTorch's `nn.RMSNorm`: a {@link Layer} over the {@link rmsNorm}
 * plugin that holds its `weight` and its gradient.
 *
 * @example
 * ```ts
 * const norm = new RMSNorm({ normalizedShape: 768 });   // float32 weight, eps = float32 machine epsilon
 * const y = norm.forward(x);                             // x: (..., 768)
 * const dx = norm.backward(dy);                          // norm.grads.weight accumulates
 * ```
 */
export class RMSNorm extends Layer<RmsNormTypes> {
  /**
   * @param options - RMS-norm options (`normalizedShape` required; PyTorch's defaults otherwise)
   * @param init - dtype of the weight (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: RmsNormInputOptions, init: LayerInit = {}) {
    super(rmsNorm, options, init);
  }

  /** γ of shape `normalizedShape`, or `undefined` without `elementwiseAffine`. */
  get weight(): Tensor | undefined {
    return this.params.weight;
  }
}
