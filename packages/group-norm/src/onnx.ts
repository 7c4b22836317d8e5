import { float64Values, normalizeAxis, onnxAffine, onnxNormalizePrimitive, onnxStashType, onnxWithChannelsFirst } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { GroupNormTypes } from './plugin.js';

/**
 * Group norm's ONNX export (the same in train and eval): `GroupNormalization` of opset ≥ 21
 * (per-channel γ and β, as PyTorch's; ones and zeros without `affine`). Opset 18–20's
 * `GroupNormalization` has per-group γ and β (a different computation), so below opset 21
 * the export is primitive ops: `Reshape` to `(N, G, rest)`, statistics over `rest`, `Reshape`
 * back, then γ and β per channel. Channels-last layers get a `Transpose` to channels-first and back.
 */
export const groupNormOnnx: OnnxExport<GroupNormTypes> = {
  evalGraph({ options, params, input, inputShape, graph }) {
    const { numGroups, numChannels, eps } = options;
    const rank = inputShape.length;
    const c = normalizeAxis(options.channelAxis, rank, 'channelAxis');
    const firstShape = [inputShape[c === 0 ? 1 : 0], numChannels, ...inputShape.filter((_, k) => k !== 0 && k !== c && !(c === 0 && k === 1))];
    return onnxWithChannelsFirst(graph, input, rank, options.channelAxis, (x) => {
      if (graph.opset >= 21) {
        const scale = params.weight === undefined ? new Float64Array(numChannels).fill(1) : float64Values(params.weight);
        const shift = params.bias === undefined ? new Float64Array(numChannels) : float64Values(params.bias);
        return graph.node('GroupNormalization', [x, graph.constant('scale', scale, [numChannels]), graph.constant('bias', shift, [numChannels])], {
          epsilon: { float: eps },
          num_groups: { int: numGroups },
          ...onnxStashType(graph),
        });
      }
      const grouped = graph.node('Reshape', [x, graph.int64Constant('grouped_shape', [firstShape[0], numGroups, -1])]);
      const normalized = onnxNormalizePrimitive(graph, grouped, [2], { centered: true, eps });
      const back = graph.node('Reshape', [normalized, graph.int64Constant('shape', firstShape)]);
      return onnxAffine(graph, back, params.weight, params.bias, [numChannels, ...new Array<number>(rank - 2).fill(1)]);
    });
  },
};
