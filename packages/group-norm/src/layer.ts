import { Layer } from '@normkit/core';
import type { LayerInit, Tensor } from '@normkit/core';
import type { GroupNormInputOptions } from './options.js';
import type { GroupNormTypes } from './plugin.js';
import { groupNorm } from './plugin.js';

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
export class GroupNorm extends Layer<GroupNormTypes> {
  /**
   * @param options - group-norm options (`numGroups` and `numChannels` required; PyTorch's defaults otherwise)
   * @param init - dtype of the parameters (default float32)
   * @throws NormkitError `E_OPTION` for bad options
   */
  constructor(options: GroupNormInputOptions, init: LayerInit = {}) {
    super(groupNorm, options, init);
  }

  /** γ (per channel), or `undefined` when `affine` is false. */
  get weight(): Tensor | undefined {
    return this.params.weight;
  }

  /** β (per channel), or `undefined` when `affine` is false. */
  get bias(): Tensor | undefined {
    return this.params.bias;
  }
}
