import { float64Values, onnxAffine, onnxEpsilon, onnxNormalizePrimitive, onnxStashType } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import { epsFor } from './options.js';
import type { RmsNormTypes } from './plugin.js';

/**
 * RMS norm's ONNX export (the same in train and eval): `RMSNormalization` (opset ≥ 23) over
 * the last `normalizedShape.length` axes with γ (ones without `elementwiseAffine`) as an
 * initializer; for opset 13–22, primitive ops (`Mul`, `ReduceMean`, `Add`, `Sqrt`, `Div`, then
 * `Mul` by γ). `eps: null` is written as the graph dtype's machine epsilon, as the layer uses it.
 */
export const rmsNormOnnx: OnnxExport<RmsNormTypes> = {
  evalGraph({ options, params, input, inputShape, graph }) {
    const { normalizedShape } = options;
    const eps = epsFor(options, graph.dtype);
    const first = inputShape.length - normalizedShape.length;
    if (graph.opset < 23) {
      const axes = normalizedShape.map((_, j) => first + j);
      return onnxAffine(graph, onnxNormalizePrimitive(graph, input, axes, { centered: false, eps }), params.weight, undefined, normalizedShape);
    }
    const size = normalizedShape.reduce((a, b) => a * b, 1);
    const scale = graph.constant('scale', params.weight === undefined ? new Float64Array(size).fill(1) : float64Values(params.weight), normalizedShape);
    return graph.node('RMSNormalization', [input, scale], { axis: { int: first }, epsilon: onnxEpsilon(eps), ...onnxStashType(graph) });
  },
};
