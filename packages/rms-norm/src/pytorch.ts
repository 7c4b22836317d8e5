import { pickOptions } from '@normkit/core';
import type { PyTorchNames } from '@normkit/core';
import type { RmsNormInputOptions } from './options.js';
import type { RmsNormTypes } from './plugin.js';

/**
 * RMS norm's PyTorch names: `nn.RMSNorm`'s `state_dict` key (`weight`) and the `rms_norm`
 * cases of the PyTorch test vectors, whose options are ours (each case gives `eps`).
 */
export const rmsNormPyTorch: PyTorchNames<RmsNormTypes> = {
  layer: 'rms_norm',
  stateDict: { weight: 'weight' },
  options: (caseOptions) => pickOptions<RmsNormInputOptions>(caseOptions, ['normalizedShape', 'eps', 'elementwiseAffine']),
};
