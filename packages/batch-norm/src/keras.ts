import { NormkitError, formatShape, kerasAffine, kerasAffineWeights, kerasCommonShape, momentumFromKeras } from '@normkit/core';
import type { KerasNames } from '@normkit/core';
import type { BatchNormTypes } from './plugin.js';

/**
 * Batch norm's Keras names: `keras.layers.BatchNormalization` (Keras 3, tf.keras 2) and TF.js's
 * `tf.layers.batchNormalization`. Weights in `get_weights()` order: `gamma` (when `scale`),
 * `beta` (when `center`), `moving_mean`, `moving_variance`.
 *
 * Config → options: `axis` → `channelAxis` (counted as Keras counts, batch axis included),
 * `epsilon` → `eps` (default 1e-3), `momentum` m → `1 − m` (default 0.99 → 0.01),
 * `center` / `scale` → `affine`, and `unbiasedRunningVar: false`: Keras 3 and TF.js move the
 * moving variance towards the biased batch variance (tf.keras 2's fused 4-D path did not:
 * pass `overrides: { unbiasedRunningVar: true }` to keep training as it did). `synchronized`
 * changes nothing on one process (for several, see `@normkit/sync-batch-norm`); `renorm`,
 * `virtual_batch_size` and `adjustment` are refused, with the package that has them.
 * Initializers, regularizers and constraints are not read: they do not change inference.
 */
export const batchNormKeras: KerasNames<BatchNormTypes> = {
  className: 'BatchNormalization',
  weights: (config) => [...kerasAffineWeights(config), { keras: 'moving_mean', entry: 'runningMean' }, { keras: 'moving_variance', entry: 'runningVar' }],
  options(context) {
    const { config } = context;
    config.refuse('renorm', false, 'batch renormalization is @normkit/batch-renorm (its README maps renorm_clipping and renorm_momentum)');
    config.refuse('virtualBatchSize', null, 'ghost batch norm is @normkit/ghost-batch-norm (virtualBatchSize)');
    config.refuse('adjustment', null, 'normkit has no adjustment callback');
    const axes = config.axes('axis', -1);
    if (axes.length !== 1) {
      throw new NormkitError('E_OPTION', `keras BatchNormalization config.axis: normkit's batch norm has one channel axis, got ${JSON.stringify(config.value('axis'))}`, 'config.axis');
    }
    const shape = kerasCommonShape(context) as readonly number[];
    if (shape.length !== 1) {
      throw new NormkitError('E_STATE', `keras BatchNormalization weights: expected one axis (C), got shape ${formatShape(shape)}`, 'weights');
    }
    return {
      numFeatures: shape[0],
      eps: config.number('epsilon', 1e-3, { above: 0 }),
      momentum: momentumFromKeras(config.number('momentum', 0.99, { min: 0, max: 1 })),
      affine: kerasAffine(context),
      channelAxis: axes[0],
      unbiasedRunningVar: false,
    };
  },
};
