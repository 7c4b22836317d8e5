import { NormkitError, formatShape, kerasAffine, kerasAffineWeights, kerasAxes, kerasCommonShape } from '@normkit/core';
import type { KerasNames } from '@normkit/core';
import type { GroupNormTypes } from './plugin.js';

/**
 * Group norm's Keras names: Keras 3's `keras.layers.GroupNormalization` (and tf.keras 2.11+'s
 * `tf.keras.layers.GroupNormalization` and `tfa.layers.GroupNormalization`, whose config and
 * weights are the same). A frozen layer (`trainable: false`) comes back in eval mode. Weights in
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
    // Axis 1 is channels-first and -1 channels-last whatever the rank; any other axis needs the
    // rank to tell whether it is one of them (-2 on a rank-3 input is axis 1).
    if (rank === undefined && axes[0] !== 1 && axes[0] !== -1) {
      throw new NormkitError(
        'E_OPTION',
        `keras GroupNormalization config.axis: ${axes[0]} is axis 1 or the last one only for some input ranks; pass layer.inputShape (Keras layer.get_build_config()['input_shape'] or layer.input.shape)`,
        'layer.inputShape',
      );
    }
    const [axis] = axes[0] === 1 || axes[0] === -1 ? axes : kerasAxes(axes, rank, 'GroupNormalization');
    const channelAxis = axis === 1 ? 1 : axis === -1 || (rank !== undefined && axis === rank - 1) ? -1 : null;
    if (channelAxis === null) {
      throw new NormkitError('E_OPTION', `keras GroupNormalization config.axis: normkit's group norm takes the channels at axis 1 or last, got ${JSON.stringify(config.value('axis'))}`, 'config.axis');
    }
    const weightShape = kerasCommonShape(context);
    if (weightShape !== null && weightShape.length !== 1) {
      throw new NormkitError('E_STATE', `keras GroupNormalization weights: expected one axis (C), got shape ${formatShape(weightShape)}`, 'weights');
    }
    const inputChannels = inputShape === undefined ? null : (inputShape.at(channelAxis === 1 ? 1 : -1) ?? null);
    if (weightShape !== null && inputChannels !== null && inputChannels !== weightShape[0]) {
      throw new NormkitError('E_STATE', `keras GroupNormalization: layer.inputShape has ${inputChannels} channels, the weights ${weightShape[0]}`, 'layer.inputShape');
    }
    const numChannels = weightShape?.[0] ?? inputChannels;
    if (numChannels === null) {
      const why = inputShape === undefined ? 'pass layer.inputShape' : `and layer.inputShape ${JSON.stringify(inputShape)} leaves the channel size unknown`;
      throw new NormkitError('E_OPTION', `keras GroupNormalization: the number of channels comes from gamma / beta, and there are none (center=False, scale=False); ${why}`, 'layer.inputShape');
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
