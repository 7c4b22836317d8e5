import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import { initFromBatch } from './init.js';
import type { WeightNormLinearInputOptions } from './options.js';
import type { WeightNormLinearTypes } from './plugin.js';
import { weightNormLinear } from './plugin.js';
import { materializeLinearWeight } from './weight.js';

/**
 * The stateful {@link Layer} around {@link weightNormLinear}, with the paper's
 * data-dependent initialization.
 *
 * @example
 * ```ts
 * const fc = new WeightNormLinear({ inFeatures: 784, outFeatures: 100 }, { dtype: 'float64' });
 * fc.initFromBatch(firstBatch);   // pre-activations on it: mean 0, variance 1 per unit
 * const y = fc.forward(x);
 * ```
 */
export class WeightNormLinear extends Layer<WeightNormLinearTypes> {
  /**
   * @param options - `inFeatures`, `outFeatures`, and optionally `bias`, `eps`, `gInit`, `seed`, `initStd`
   * @param init - `dtype` of the parameters (default `'float32'`)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: WeightNormLinearInputOptions, init: LayerInit = {}) {
    super(weightNormLinear, options, init);
  }

  /**
   * Replaces `g` and `bias` by {@link initFromBatch} on `x`. Gradients are left as they are.
   *
   * @param x - one batch, `(..., inFeatures)`, in the layer's dtype
   * @returns this layer
   * @throws NormkitError as {@link initFromBatch}; the layer is unchanged then
   */
  initFromBatch(x: Tensor): this {
    this.params = initFromBatch(this.params, x, this.options);
    return this;
  }

  /**
   * The current materialized weight `W = g·v/‖v‖`, `(out, in)` (see {@link materializeLinearWeight}).
   *
   * @returns a new tensor in the parameters' dtype
   * @throws NormkitError `E_DEGENERATE` when a row of `v` has zero norm and there is no eps
   */
  weight(): Tensor {
    return materializeLinearWeight(this.params, this.options);
  }
}
