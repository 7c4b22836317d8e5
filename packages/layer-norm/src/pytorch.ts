import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { LayerNormInputOptions } from './options.js';
import type { LayerNormTypes } from './plugin.js';

/**
 * Layer norm's PyTorch names: `nn.LayerNorm`'s `state_dict` keys (`weight`, `bias`) and the
 * `layer_norm` cases of the PyTorch test vectors, whose options are ours.
 */
export const layerNormPyTorch: PyTorchNames<LayerNormTypes> = {
  layer: 'layer_norm',
  stateDict: { weight: 'weight', bias: 'bias' },
  options: (caseOptions) => pickOptions<LayerNormInputOptions>(caseOptions, ['normalizedShape', 'eps', 'elementwiseAffine', 'bias']),
};
