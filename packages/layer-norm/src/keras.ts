import { NormkitError, kerasAffine, kerasAffineWeights, kerasAxes, kerasCommonShape } from '@normkit/core';
import type { KerasNames } from '@normkit/core';
import type { LayerNormInputOptions } from './options.js';
import type { LayerNormTypes } from './plugin.js';

/**
 * Layer norm's Keras names: `keras.layers.LayerNormalization` (Keras 3, tf.keras 2) and TF.js's
 * `tf.layers.layerNormalization`. Weights in `get_weights()` order: `gamma` (when `scale`),
 * `beta` (when `center`), each of one size per normalized axis.
 *
 * Config → options: `axis` must be the trailing axes in increasing order (`-1`, `[-2, -1]`, or
 * `[1, 2]` for a rank-3 input given as `inputShape`); their sizes become `normalizedShape`.
 * Other axes (Keras's `axis=1` on NHWC) are refused: normalize a transposed view instead (the
 * conventions guide shows how). `epsilon` → `eps` (default 1e-3); `scale` without `center` →
 * `bias: false`; `center` without `scale` needs `fillMissingAffine`; neither →
 * `elementwiseAffine: false`. `rms_scaling=True` is refused: Keras versions disagree on what it
 * computes (see `@normkit/rms-norm`).
 */
export const layerNormKeras: KerasNames<LayerNormTypes> = {
  className: 'LayerNormalization',
  weights: kerasAffineWeights,
  options(context) {
    const { config, inputShape } = context;
    config.refuse('rmsScaling', false, 'its meaning changed between Keras 3 releases (variance, then mean square); build @normkit/rms-norm for the one yours computes');
    const rank = inputShape?.length;
    const axes = kerasAxes(config.axes('axis', -1), rank, 'LayerNormalization');
    const trailing = axes.map((_, i) => (rank === undefined ? -axes.length + i : rank - axes.length + i));
    if (axes.some((axis, i) => axis !== trailing[i])) {
      throw new NormkitError(
        'E_OPTION',
        `keras LayerNormalization config.axis: normkit's layer norm normalizes the trailing axes in order (${JSON.stringify(trailing)} here), got ${JSON.stringify(config.value('axis'))}; ` +
          'normalize a transposed view that puts those axes last (see the conventions guide)',
        'config.axis',
      );
    }
    const fromInput = inputShape === undefined ? undefined : trailing.map((axis) => inputShape[axis]);
    const weightShape = kerasCommonShape(context);
    let normalizedShape: number[];
    if (fromInput !== undefined && fromInput.every((size): size is number => size !== null)) normalizedShape = fromInput;
    else if (weightShape !== null && weightShape.length === axes.length) normalizedShape = [...weightShape];
    else {
      throw new NormkitError(
        'E_OPTION',
        `keras LayerNormalization: the sizes of axis ${JSON.stringify(config.value('axis') ?? -1)} come from gamma / beta ` +
          `(one size per axis)${weightShape === null ? ', and there are none (center=False, scale=False)' : `, got shape [${weightShape.join(', ')}]`}; pass layer.inputShape`,
        'layer.inputShape',
      );
    }
    const center = config.boolean('center', true);
    const scale = config.boolean('scale', true);
    const options: LayerNormInputOptions = { normalizedShape, eps: config.number('epsilon', 1e-3, { above: 0 }) };
    if (scale && !center) return { ...options, bias: false };
    return { ...options, elementwiseAffine: center && !scale ? kerasAffine(context) : scale };
  },
};
