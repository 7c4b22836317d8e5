import { onnxChannelNormalization } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { GhostBatchNormTypes } from './plugin.js';

/**
 * Ghost batch norm's ONNX export (eval mode): batch norm's, since eval does not split the batch:
 * `BatchNormalization` in inference mode with the running statistics and γ, β as
 * initializers (γ = 1, β = 0 without `affine`); without `trackRunningStats`, eval uses the
 * batch statistics, written as primitive ops (`ReduceMean`, `Sub`, `Mul`, `Sqrt`, `Div`).
 * Channels-last layers get a `Transpose` to channels-first and back.
 */
export const ghostBatchNormOnnx: OnnxExport<GhostBatchNormTypes> = {
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
