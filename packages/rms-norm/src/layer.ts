import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { RmsNormInputOptions } from './options.js';
import type { RmsNormTypes } from './plugin.js';
import { rmsNorm } from './plugin.js';

/** Is there a `weight`, by the type of the options `O` (`elementwiseAffine`, default true)? */
export type RmsNormAffine<O> = OptionFlag<O, 'elementwiseAffine', true>;

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
export class RMSNorm<const O extends RmsNormInputOptions = RmsNormInputOptions> extends Layer<RmsNormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<RmsNormTypes['Params'], NamesIf<RmsNormAffine<O>, 'weight'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<RmsNormTypes['Params'], NamesIf<RmsNormAffine<O>, 'weight'>>;

  /**
   * @param options - RMS-norm options (`normalizedShape` required; PyTorch's defaults otherwise)
   * @param init - dtype of the weight (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(rmsNorm, options, init);
  }

  /** γ of shape `normalizedShape`, or `undefined` without `elementwiseAffine`. */
  get weight(): TensorIf<RmsNormAffine<O>> {
    return this.params.weight as TensorIf<RmsNormAffine<O>>;
  }
}
