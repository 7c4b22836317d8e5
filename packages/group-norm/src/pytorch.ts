import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { GroupNormInputOptions } from './options.js';
import type { GroupNormTypes } from './plugin.js';

/**
 * Group norm's PyTorch names: `nn.GroupNorm`'s `state_dict` keys (`weight`, `bias`) and the
 * `group_norm` cases of the PyTorch test vectors, whose options are ours.
 */
export const groupNormPyTorch: PyTorchNames<GroupNormTypes> = {
  layer: 'group_norm',
  stateDict: { weight: 'weight', bias: 'bias' },
  options: (caseOptions) => pickOptions<GroupNormInputOptions>(caseOptions, ['numGroups', 'numChannels', 'eps', 'affine', 'channelAxis']),
};
