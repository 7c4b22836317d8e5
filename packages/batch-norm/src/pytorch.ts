import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { BatchNormInputOptions } from './options.js';
import type { BatchNormTypes } from './plugin.js';

/**
 * Batch norm's PyTorch names: `nn.BatchNorm*d`'s `state_dict` keys (`weight`, `bias`,
 * `running_mean`, `running_var`, `num_batches_tracked`) and the `batch_norm` cases of the
 * PyTorch test vectors, whose options are ours.
 */
export const batchNormPyTorch: PyTorchNames<BatchNormTypes> = {
  layer: 'batch_norm',
  stateDict: {
    weight: 'weight',
    bias: 'bias',
    runningMean: 'running_mean',
    runningVar: 'running_var',
    numBatchesTracked: 'num_batches_tracked',
  },
  int64: ['numBatchesTracked'],
  options: (caseOptions) =>
    pickOptions<BatchNormInputOptions>(caseOptions, ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis']),
};
