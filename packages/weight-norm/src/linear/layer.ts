import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, Tensor } from '@normkit/core';
import { initFromBatch } from './init.js';
import type { WeightNormLinearInputOptions } from './options.js';
import type { WeightNormLinearTypes } from './plugin.js';
import { weightNormLinear } from './plugin.js';
import { materializeLinearWeight } from './weight.js';

/** Is there a `bias`, by the type of the options `O` (`bias`, default true)? */
export type WeightNormLinearBias<O> = OptionFlag<O, 'bias', true>;

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
export class WeightNormLinear<const O extends WeightNormLinearInputOptions = WeightNormLinearInputOptions> extends Layer<WeightNormLinearTypes> {
  /** `v` and `g` (always present) and `bias` (typed present when the options make it present). */
  declare params: LayerTensors<WeightNormLinearTypes['Params'], 'v' | 'g' | NamesIf<WeightNormLinearBias<O>, 'bias'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<WeightNormLinearTypes['Params'], 'v' | 'g' | NamesIf<WeightNormLinearBias<O>, 'bias'>>;

  /**
   * @param options - `inFeatures`, `outFeatures`, and optionally `bias`, `eps`, `gInit`, `seed`, `initStd`
   * @param init - `dtype` of the parameters (default `'float32'`)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
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
    this.params = initFromBatch(this.params, x, this.options) as this['params'];
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
