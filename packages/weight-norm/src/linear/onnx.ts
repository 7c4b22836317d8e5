import { float64Values } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import type { WeightNormLinearTypes } from './plugin.js';
import { materializeLinearWeight } from './weight.js';

/**
 * The weight-normalized dense layer's ONNX export: the weight folded, `W = g·v/‖v‖` (computed
 * as the layer computes it), into one `Gemm` (`y = x·Wᵀ + b`, `transB = 1`) with `W` and the
 * bias as initializers. `Gemm` takes a matrix: other ranks are `Reshape`d to
 * `(rows, inFeatures)` and back to `(..., outFeatures)`.
 */
export const weightNormLinearOnnx: OnnxExport<WeightNormLinearTypes> = {
  evalGraph({ options, params, input, inputShape, outputShape, graph }) {
    const { inFeatures, outFeatures } = options;
    const weight = graph.constant('weight', float64Values(materializeLinearWeight(params, options)), [outFeatures, inFeatures]);
    const matrix = inputShape.length === 2 ? input : graph.node('Reshape', [input, graph.int64Constant('rows_shape', [-1, inFeatures])]);
    const inputs = params.bias === undefined ? [matrix, weight] : [matrix, weight, graph.constant('bias', float64Values(params.bias), [outFeatures])];
    const y = graph.node('Gemm', inputs, { transB: { int: 1 } });
    return inputShape.length === 2 ? y : graph.node('Reshape', [y, graph.int64Constant('shape', outputShape)]);
  },
};
