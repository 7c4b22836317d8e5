import { kerasAffine, kerasAffineWeights, kerasTrailingShape } from '@normkit/core';
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
 * conventions guide shows how). A built layer stores its axes non-negative (`[2]`, or `[1, 2]`):
 * pass `inputShape` for it. `epsilon` → `eps` (default 1e-3); `scale` without `center` →
 * `bias: false`; `center` without `scale` needs `fillMissingAffine`; neither →
 * `elementwiseAffine: false`. `rms_scaling=True` is refused: it scales x by γ without β or
 * centering (x·γ/√(Var[x] + ε) in the Keras 3 releases read); the mean-square form is `@normkit/rms-norm`.
 */
export const layerNormKeras: KerasNames<LayerNormTypes> = {
  className: 'LayerNormalization',
  refuse(config) {
    config.refuse(
      'rmsScaling',
      false,
      "Keras's rms_scaling scales x by γ without β or centering (x·γ/√(Var[x] + ε) in the Keras 3 releases read; later ones may use the mean square); " +
        'for the mean-square form use @normkit/rms-norm, with weight = gamma',
    );
  },
  weights: kerasAffineWeights,
  options(context) {
    const { config } = context;
    const normalizedShape = kerasTrailingShape(context);
    const options: LayerNormInputOptions = { normalizedShape, eps: config.number('epsilon', 1e-3, { above: 0 }) };
    // Keras's scale and center as normkit's elementwiseAffine and bias: γ alone is bias: false;
    // β alone has no normkit option, and kerasAffine asks for fillMissingAffine (γ fixed at 1).
    const center = config.boolean('center', true);
    const scale = config.boolean('scale', true);
    if (!center && !scale) return { ...options, elementwiseAffine: false };
    if (!center) return { ...options, bias: false };
    return { ...options, elementwiseAffine: kerasAffine(context) };
  },
};
