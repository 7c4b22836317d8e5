import { NormkitError, formatShape, kerasAffine, kerasAffineWeights, kerasAxes, kerasCommonShape } from '@normkit/core';
import type { KerasNames } from '@normkit/core';
import type { GroupNormTypes } from './plugin.js';

/**
 * Group norm's Keras names: Keras 3's `keras.layers.GroupNormalization` (and
 * `tfa.layers.GroupNormalization`, whose config and weights are the same). Weights in
 * `get_weights()` order: `gamma` (when `scale`), `beta` (when `center`), each `(C)`.
 *
 * Config → options: `groups` → `numGroups` (default 32; `-1`, instance norm, → `numChannels`),
 * `axis` → `channelAxis` (`-1`, the default, or `1`; a non-negative last axis needs
 * `inputShape`), `epsilon` → `eps` (default 1e-3), `center` / `scale` → `affine`.
 * `numChannels` comes from the weights, or from `inputShape` when there are none.
 */
export const groupNormKeras: KerasNames<GroupNormTypes> = {
  className: 'GroupNormalization',
  weights: kerasAffineWeights,
  options(context) {
    const { config, inputShape } = context;
    const axes = config.axes('axis', -1);
    if (axes.length !== 1) {
      throw new NormkitError('E_OPTION', `keras GroupNormalization config.axis: expected one channel axis, got ${JSON.stringify(config.value('axis'))}`, 'config.axis');
    }
    const rank = inputShape?.length;
    // Axis 1 is channels-first whatever the rank; any other axis must be the last one.
    const [axis] = axes[0] === 1 ? [1] : kerasAxes(axes, rank, 'GroupNormalization');
    const channelAxis = axis === 1 ? 1 : axis === -1 || (rank !== undefined && axis === rank - 1) ? -1 : null;
    if (channelAxis === null) {
      throw new NormkitError('E_OPTION', `keras GroupNormalization config.axis: normkit's group norm takes the channels at axis 1 or last, got ${JSON.stringify(config.value('axis'))}`, 'config.axis');
    }
    const weightShape = kerasCommonShape(context);
    if (weightShape !== null && weightShape.length !== 1) {
      throw new NormkitError('E_STATE', `keras GroupNormalization weights: expected one axis (C), got shape ${formatShape(weightShape)}`, 'weights');
    }
    const inputChannels = inputShape === undefined ? null : inputShape.at(channelAxis === 1 ? 1 : -1);
    const numChannels = weightShape?.[0] ?? inputChannels;
    if (numChannels === null || numChannels === undefined) {
      throw new NormkitError('E_OPTION', 'keras GroupNormalization: the number of channels comes from gamma / beta, and there are none (center=False, scale=False); pass layer.inputShape', 'layer.inputShape');
    }
    const groups = config.number('groups', 32);
    if (groups !== -1 && !(Number.isInteger(groups) && groups >= 1)) {
      throw new NormkitError('E_OPTION', `keras GroupNormalization config.groups: expected a positive integer or -1, got ${groups}`, 'config.groups');
    }
    return {
      numGroups: groups === -1 ? numChannels : groups,
      numChannels,
      eps: config.number('epsilon', 1e-3, { above: 0 }),
      affine: kerasAffine(context),
      channelAxis,
    };
  },
};
