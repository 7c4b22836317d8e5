import { Layer } from '@normkit/core';
import type { LayerInit, LayerTensors, NamesIf, OptionFlag, TensorIf } from '@normkit/core';
import type { GroupNormInputOptions } from './options.js';
import type { GroupNormTypes } from './plugin.js';
import { groupNorm } from './plugin.js';

/** Is there a `weight` and a `bias`, by the type of the options `O` (`affine`, default true)? */
export type GroupNormAffine<O> = OptionFlag<O, 'affine', true>;

/**
 * Group norm with the feel of PyTorch's `nn.GroupNorm`: a {@link Layer} over the
 * {@link groupNorm} plugin that holds its per-channel parameters and their gradients. Train
 * and eval compute the same.
 *
 * @example
 * ```ts
 * const gn = new GroupNorm({ numGroups: 32, numChannels: 64 });   // float32 parameters
 * const y = gn.forward(x);                                         // x: (N, 64, H, W)
 * const dx = gn.backward(dy);                                      // gn.grads.weight, gn.grads.bias accumulate
 * ```
 */
export class GroupNorm<const O extends GroupNormInputOptions = GroupNormInputOptions> extends Layer<GroupNormTypes> {
  /** The parameters, typed present when the options make them present. */
  declare params: LayerTensors<GroupNormTypes['Params'], NamesIf<GroupNormAffine<O>, 'weight' | 'bias'>>;
  /** Accumulated parameter gradients, typed as the parameters. */
  declare readonly grads: LayerTensors<GroupNormTypes['Params'], NamesIf<GroupNormAffine<O>, 'weight' | 'bias'>>;

  /**
   * @param options - group-norm options (`numGroups` and `numChannels` required; PyTorch's defaults otherwise)
   * @param init - dtype of the parameters (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: O, init: LayerInit = {}) {
    super(groupNorm, options, init);
  }

  /** γ (per channel), or `undefined` when `affine` is false. */
  get weight(): TensorIf<GroupNormAffine<O>> {
    return this.params.weight as TensorIf<GroupNormAffine<O>>;
  }

  /** β (per channel), or `undefined` when `affine` is false. */
  get bias(): TensorIf<GroupNormAffine<O>> {
    return this.params.bias as TensorIf<GroupNormAffine<O>>;
  }
}
