import { float64Values, normalizeAxis, onnxAffine, onnxEpsilon, onnxNormalizePrimitive, onnxWithChannelsFirst } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { GroupNormTypes } from './plugin.js';

/** ONNX's DOUBLE data type, as `GroupNormalization`'s `stash_type`: statistics in float64. */
const DOUBLE_STASH = 11;

/**
 * Group norm's ONNX export (the same in train and eval): in a float32 graph, `GroupNormalization`
 * of opset ≥ 21 (per-channel γ and β, as PyTorch's; ones and zeros without `affine`) with
 * `stash_type` DOUBLE. ONNX Runtime's kernel loses accuracy when a group's mean is large against
 * its spread (an audit measured 3.5e-3 on N(100, 1) data with float32 statistics, 1.2e-7 with
 * double ones). Opset 18–20's `GroupNormalization` has per-group γ and β (a different
 * computation), so below opset 21 the export is primitive ops: `Reshape` to `(N, G, rest)`,
 * statistics over `rest`, `Reshape` back, then γ and β per channel. A float64 graph is
 * primitive ops at every opset: even with double statistics that kernel lost 7.6e-6 on data of
 * mean 1e5, where the primitive ops keep 2e-11. Channels-last layers get a `Transpose` to
 * channels-first and back.
 */
export const groupNormOnnx: OnnxExport<GroupNormTypes> = {
  evalGraph({ options, params, input, inputShape, graph }) {
    const { numGroups, numChannels, eps } = options;
    const rank = inputShape.length;
    const c = normalizeAxis(options.channelAxis, rank, 'channelAxis');
    const firstShape = [inputShape[c === 0 ? 1 : 0], numChannels, ...inputShape.filter((_, k) => k !== 0 && k !== c && !(c === 0 && k === 1))];
    return onnxWithChannelsFirst(graph, input, rank, options.channelAxis, (x) => {
      if (graph.opset >= 21 && graph.dtype === 'float32') {
        const scale = params.weight === undefined ? new Float64Array(numChannels).fill(1) : float64Values(params.weight);
        const shift = params.bias === undefined ? new Float64Array(numChannels) : float64Values(params.bias);
        return graph.node('GroupNormalization', [x, graph.constant('scale', scale, [numChannels]), graph.constant('bias', shift, [numChannels])], {
          epsilon: onnxEpsilon(eps),
          num_groups: { int: numGroups },
          stash_type: { int: DOUBLE_STASH },
        });
      }
      const grouped = graph.node('Reshape', [x, graph.int64Constant('grouped_shape', [firstShape[0], numGroups, -1])]);
      const normalized = onnxNormalizePrimitive(graph, grouped, [2], { centered: true, eps });
      const back = graph.node('Reshape', [normalized, graph.int64Constant('shape', firstShape)]);
      return onnxAffine(graph, back, params.weight, params.bias, [numChannels, ...new Array<number>(rank - 2).fill(1)]);
    });
  },
};
