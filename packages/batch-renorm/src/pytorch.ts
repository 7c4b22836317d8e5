import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { BatchRenormInputOptions } from './options.js';
import type { BatchRenormTypes } from './plugin.js';

/**
 * Batch renorm's PyTorch names. PyTorch has no batch renorm layer and no test vectors name
 * `batch_renorm`; the state is batch norm's, so the `state_dict` keys are `nn.BatchNorm*d`'s
 * (`weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`) and a trained
 * layer's state loads into a PyTorch batch norm for inference, where both compute the same.
 * A vector case's options are read as batch norm's.
 */
export const batchRenormPyTorch: PyTorchNames<BatchRenormTypes> = {
  layer: 'batch_renorm',
  stateDict: {
    weight: 'weight',
    bias: 'bias',
    runningMean: 'running_mean',
    runningVar: 'running_var',
    numBatchesTracked: 'num_batches_tracked',
  },
  int64: ['numBatchesTracked'],
  options: (caseOptions) => pickOptions<BatchRenormInputOptions>(caseOptions, ['numFeatures', 'eps', 'momentum', 'affine', 'channelAxis', 'rmax', 'dmax']),
};
