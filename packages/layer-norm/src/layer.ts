import { Layer } from '@normkit/core';
import type { BothFlags, LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { LayerNormInputOptions } from './options.js';
import type { LayerNormTypes } from './plugin.js';
import { layerNorm } from './plugin.js';

/** Is there a `weight`, by the type of the options `O` (`elementwiseAffine`, default true)? */
export type LayerNormAffine<O> = OptionFlag<O, 'elementwiseAffine', true>;

/** Is there a `bias`, by the type of the options `O` (`elementwiseAffine` and `bias`, both default true)? */
export type LayerNormBias<O> = BothFlags<LayerNormAffine<O>, OptionFlag<O, 'bias', true>>;

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
export class LayerNorm<const O extends LayerNormInputOptions = LayerNormInputOptions> extends Layer<LayerNormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<LayerNormTypes['Params'], NamesIf<LayerNormAffine<O>, 'weight'> | NamesIf<LayerNormBias<O>, 'bias'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<LayerNormTypes['Params'], NamesIf<LayerNormAffine<O>, 'weight'> | NamesIf<LayerNormBias<O>, 'bias'>>;

  /**
   * @param options - layer-norm options; `normalizedShape` is required (see {@link LayerNormInputOptions})
   * @param init - `dtype` of the parameters (default `'float32'`)
   * @throws NormkitError `E_OPTION` for bad options or dtype
   */
  constructor(options: O, init: LayerInit = {}) {
    super(layerNorm, options, init);
  }

  /** The per-element scale γ of shape `normalizedShape`, or `undefined` without `elementwiseAffine`. */
  get weight(): TensorIf<LayerNormAffine<O>> {
    return this.params.weight as TensorIf<LayerNormAffine<O>>;
  }

  /** The per-element shift β of shape `normalizedShape`, or `undefined` without `elementwiseAffine` or with `bias: false`. */
  get bias(): TensorIf<LayerNormBias<O>> {
    return this.params.bias as TensorIf<LayerNormBias<O>>;
  }
}
