import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { LayerNormInputOptions } from './options.js';
import type { LayerNormTypes } from './plugin.js';
import { layerNorm } from './plugin.js';

/**
 * A stateful layer-norm layer for training loops: core's `Layer` around the
 * {@link layerNorm} plugin, holding `weight` (ones) and `bias` (zeros) and accumulating
 * their gradients. Train and eval compute the same.
 *
 * @example
 * ```ts
 * const norm = new LayerNorm({ normalizedShape: 768 });   // float32 parameters
 * const y = norm.forward(x);                               // x: (..., 768)
 * const dx = norm.backward(dy);                            // norm.grads.weight, norm.grads.bias accumulate
 * ```
 */
export class LayerNorm extends Layer<LayerNormTypes> {
  /**
   * @param options - layer-norm options; `normalizedShape` is required (see {@link LayerNormInputOptions})
   * @param init - `dtype` of the parameters (default `'float32'`)
   * @throws NormkitError `E_OPTION` for bad options or dtype
   */
  constructor(options: LayerNormInputOptions, init: LayerInit = {}) {
    super(layerNorm, options, init);
  }

  /** The per-element scale γ of shape `normalizedShape`, or `undefined` without `elementwiseAffine`. */
  get weight(): Tensor | undefined {
    return this.params.weight;
  }

  /** The per-element shift β of shape `normalizedShape`, or `undefined` without `elementwiseAffine` or with `bias: false`. */
  get bias(): Tensor | undefined {
    return this.params.bias;
  }
}
