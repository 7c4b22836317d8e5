import { float64Values, normalizeAxis, onnxAffine, onnxChannelNormalization, onnxEpsilon, onnxNormalizePrimitive, onnxWithChannelsFirst } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { InstanceNormTypes } from './plugin.js';

/**
 * Instance norm's ONNX export (eval mode). Without `trackRunningStats`, eval normalizes each
 * sample's channel by its own statistics: `InstanceNormalization` (γ = 1, β = 0 without
 * `affine`); in a float64 graph primitive ops instead, since ONNX Runtime implements
 * `InstanceNormalization` for float only. With `trackRunningStats`, eval uses the running statistics per channel, which
 * ONNX's `InstanceNormalization` cannot take; the computation is then exactly batch norm's
 * inference, so it is written as `BatchNormalization` with the running statistics as
 * initializers. Channels-last layers get a `Transpose` to channels-first and back. An unbatched
 * input (`spatialDims`, rank `spatialDims + 1`) is reshaped to the batch of one `(1, C, *)`
 * and back, as PyTorch computes it.
 */
export const instanceNormOnnx: OnnxExport<InstanceNormTypes> = {
  evalGraph(args) {
    const { options, input, inputShape, graph } = args;
    if (options.spatialDims === null || inputShape.length !== options.spatialDims + 1) return batchedGraph(args);
    const batchedShape = [1, ...inputShape];
    const batched = graph.node('Reshape', [input, graph.int64Constant('batched_shape', batchedShape)]);
    const y = batchedGraph({ ...args, input: batched, inputShape: batchedShape });
    return graph.node('Reshape', [y, graph.int64Constant('unbatched_shape', [...inputShape])]);
  },
};

/** The graph of a batched input `(N, C, *)` (the whole export but an unbatched input's reshapes). */
function batchedGraph({ options, params, state, input, inputShape, graph }: Parameters<OnnxExport<InstanceNormTypes>['evalGraph']>[0]): string {
  if (options.trackRunningStats) {
    return onnxChannelNormalization(graph, {
      input,
      inputShape,
      channelAxis: options.channelAxis,
      eps: options.eps,
      weight: params.weight,
      bias: params.bias,
      runningMean: state.runningMean,
      runningVar: state.runningVar,
    });
  }
  const rank = inputShape.length;
  const channels = inputShape[normalizeAxis(options.channelAxis, rank, 'channelAxis')];
  return onnxWithChannelsFirst(graph, input, rank, options.channelAxis, (x) => {
    if (graph.dtype === 'float64') {
      // ONNX Runtime implements InstanceNormalization for float only: primitives for double.
      const axes = Array.from({ length: rank - 2 }, (_, k) => k + 2);
      const normalized = onnxNormalizePrimitive(graph, x, axes, { centered: true, eps: options.eps });
      return onnxAffine(graph, normalized, params.weight, params.bias, [channels, ...new Array<number>(rank - 2).fill(1)]);
    }
    const scale = params.weight === undefined ? new Float64Array(channels).fill(1) : float64Values(params.weight);
    const shift = params.bias === undefined ? new Float64Array(channels) : float64Values(params.bias);
    return graph.node('InstanceNormalization', [x, graph.constant('scale', scale, [channels]), graph.constant('bias', shift, [channels])], {
      epsilon: onnxEpsilon(options.eps),
    });
  });
}
