import { float64Values, onnxAffine, onnxEpsilon, onnxNormalizePrimitive, onnxStashType } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { LayerNormTypes } from './plugin.js';

/**
 * Layer norm's ONNX export (the same in train and eval): `LayerNormalization` (opset ≥ 17)
 * over the last `normalizedShape.length` axes, with γ (ones without `elementwiseAffine`) and
 * β (left out without a bias) as initializers (statistics in float64 for a float64 graph); for opset 13–16, primitive ops (`ReduceMean`,
 * `Sub`, `Mul`, `Sqrt`, `Div`, then `Mul`/`Add` by γ, β).
 */
export const layerNormOnnx: OnnxExport<LayerNormTypes> = {
  evalGraph({ options, params, input, inputShape, graph }) {
    const { normalizedShape, eps } = options;
    const rank = inputShape.length;
    const first = rank - normalizedShape.length;
    if (graph.opset < 17) {
      const axes = normalizedShape.map((_, j) => first + j);
      return onnxAffine(graph, onnxNormalizePrimitive(graph, input, axes, { centered: true, eps }), params.weight, params.bias, normalizedShape);
    }
    const size = normalizedShape.reduce((a, b) => a * b, 1);
    const scale = graph.constant('scale', params.weight === undefined ? new Float64Array(size).fill(1) : float64Values(params.weight), normalizedShape);
    const inputs = params.bias === undefined ? [input, scale] : [input, scale, graph.constant('bias', float64Values(params.bias), normalizedShape)];
    return graph.node('LayerNormalization', inputs, { axis: { int: first }, epsilon: onnxEpsilon(eps), ...onnxStashType(graph) });
  },
};
