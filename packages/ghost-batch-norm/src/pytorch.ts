import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { GhostBatchNormInputOptions } from './options.js';
import type { GhostBatchNormTypes } from './plugin.js';

/**
 * Ghost batch norm's PyTorch names. PyTorch has no ghost batch norm layer and no test
 * vectors name `ghost_batch_norm`; the state is batch norm's, so the `state_dict` keys are
 * `nn.BatchNorm*d`'s and a trained layer's state loads into a PyTorch batch norm for
 * inference, where both compute the same. A vector case's options are read as batch norm's
 * (plus `virtualBatchSize`).
 */
export const ghostBatchNormPyTorch: PyTorchNames<GhostBatchNormTypes> = {
  layer: 'ghost_batch_norm',
  stateDict: {
    weight: 'weight',
    bias: 'bias',
    runningMean: 'running_mean',
    runningVar: 'running_var',
    numBatchesTracked: 'num_batches_tracked',
  },
  int64: ['numBatchesTracked'],
  options: (caseOptions) =>
    pickOptions<GhostBatchNormInputOptions>(caseOptions, ['numFeatures', 'virtualBatchSize', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis']),
};
