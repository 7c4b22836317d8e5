import { onnxChannelNormalization } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { BatchRenormTypes } from './plugin.js';

/**
 * Batch renorm's ONNX export (eval mode): batch norm's eval (r = 1, d = 0): `BatchNormalization` in inference
 * mode with the running statistics and γ, β (1 and 0 without `affine`) as initializers.
 * Channels-last layers get a `Transpose` to channels-first and back.
 */
export const batchRenormOnnx: OnnxExport<BatchRenormTypes> = {
  evalGraph: ({ options, params, state, input, inputShape, graph }) =>
    onnxChannelNormalization(graph, {
      input,
      inputShape,
      channelAxis: options.channelAxis,
      eps: options.eps,
      weight: params.weight,
      bias: params.bias,
      runningMean: state.runningMean,
      runningVar: state.runningVar,
    }),
};
