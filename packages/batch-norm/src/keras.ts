import { NormkitError, formatShape, kerasAffine, kerasAffineWeights, kerasAxes, kerasCommonShape, momentumFromKeras } from '@normkit/core';
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
 * moving variance towards the biased batch variance. A frozen layer (`trainable: false`) comes
 * back in eval mode: Keras runs it in inference mode, in `fit` too (TF.js does not: call
 * `train()` to match a frozen TF.js layer).
 *
 * tf.keras 2 differs in two ways the config does not record (it does not save `fused`). Its
 * fused kernel (rank 4 or 5, channel axis 1 or last, float16/32 compute, no renorm or virtual
 * batches: the usual convolutional case) moves the moving variance towards the **unbiased**
 * batch variance, so pass `overrides: { unbiasedRunningVar: true }` to keep training it as it
 * did; and it raises `epsilon` to at least 1.001e-5, in inference too, so a config with a
 * smaller `epsilon` needs `overrides: { eps: 1.001e-5 }` to reproduce it. Keras 3 and TF.js do
 * neither.
 *
 * `synchronized` changes nothing on one process (for several, see `@normkit/sync-batch-norm`);
 * `renorm`, `virtual_batch_size` and `adjustment` are refused, with the package that has them.
 * Initializers, regularizers and constraints are not read: they do not change inference.
 */
export const batchNormKeras: KerasNames<BatchNormTypes> = {
  className: 'BatchNormalization',
  refuse(config) {
    config.refuse('renorm', false, 'batch renormalization is @normkit/batch-renorm (its README maps renorm_clipping and renorm_momentum)');
    config.refuse('virtualBatchSize', null, 'ghost batch norm is @normkit/ghost-batch-norm (virtualBatchSize)');
    config.refuse('adjustment', null, 'normkit has no adjustment callback');
    config.boolean('synchronized', false); // read only to refuse a non-boolean
  },
  weights: (config) => [...kerasAffineWeights(config), { keras: 'moving_mean', entry: 'runningMean' }, { keras: 'moving_variance', entry: 'runningVar' }],
  options(context) {
    const { config, inputShape } = context;
    const axes = config.axes('axis', -1);
    if (axes.length !== 1) {
      throw new NormkitError('E_OPTION', `keras BatchNormalization config.axis: normkit's batch norm has one channel axis, got ${JSON.stringify(config.value('axis'))}`, 'config.axis');
    }
    const shape = kerasCommonShape(context) as readonly number[];
    if (shape.length !== 1) {
      throw new NormkitError('E_STATE', `keras BatchNormalization weights: expected one axis (C), got shape ${formatShape(shape)}`, 'weights');
    }
    if (inputShape !== undefined) {
      // The input shape, when given, must agree: the axis inside its rank, and C at that axis.
      const [axis] = kerasAxes(axes, inputShape.length, 'BatchNormalization');
      const channels = inputShape[axis];
      if (channels !== null && channels !== shape[0]) {
        throw new NormkitError('E_STATE', `keras BatchNormalization: layer.inputShape has ${channels} channels at axis ${axis}, the weights ${shape[0]}`, 'layer.inputShape');
      }
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
