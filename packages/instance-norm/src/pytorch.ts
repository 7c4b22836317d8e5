import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { InstanceNormInputOptions } from './options.js';
import type { InstanceNormTypes } from './plugin.js';

/**
 * Instance norm's PyTorch names: `nn.InstanceNorm*d`'s `state_dict` keys (`weight`, `bias`,
 * `running_mean`, `running_var`, `num_batches_tracked`, present as the options make them) and
 * the `instance_norm` cases of the PyTorch test vectors, whose options are ours.
 */
export const instanceNormPyTorch: PyTorchNames<InstanceNormTypes> = {
  layer: 'instance_norm',
  stateDict: {
    weight: 'weight',
    bias: 'bias',
    runningMean: 'running_mean',
    runningVar: 'running_var',
    numBatchesTracked: 'num_batches_tracked',
  },
  int64: ['numBatchesTracked'],
  options: (caseOptions) =>
    pickOptions<InstanceNormInputOptions>(caseOptions, ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis', 'spatialDims']),
};
