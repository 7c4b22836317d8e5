import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { SyncBatchNormInputOptions } from './options.js';
import type { SyncBatchNormTypes } from './plugin.js';

/**
 * Sync batch norm's PyTorch names: `nn.SyncBatchNorm`'s `state_dict` keys (`weight`, `bias`,
 * `running_mean`, `running_var`, `num_batches_tracked`, batch norm's). No test vectors name
 * `sync_batch_norm` (PyTorch's vectors are single-process, where sync batch norm is batch
 * norm); a vector case's options are read as batch norm's.
 */
export const syncBatchNormPyTorch: PyTorchNames<SyncBatchNormTypes> = {
  layer: 'sync_batch_norm',
  stateDict: {
    weight: 'weight',
    bias: 'bias',
    runningMean: 'running_mean',
    runningVar: 'running_var',
    numBatchesTracked: 'num_batches_tracked',
  },
  int64: ['numBatchesTracked'],
  options: (caseOptions) =>
    pickOptions<SyncBatchNormInputOptions>(caseOptions, ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis']),
};
