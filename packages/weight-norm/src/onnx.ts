import { float64Values, onnxNormalizePrimitive } from '@normkit/core';
import type { OnnxExport } from '@normkit/core';
import { gShapeOf, normAxesOf } from './options.js';
import type { WeightNormTypes } from './plugin.js';

/**
 * Weight norm's ONNX export, for a graph whose input is the direction `v`: `w = g·v/‖v‖` as
 * primitive ops (`Mul`, `ReduceSum`, `Add` ε, `Sqrt`, `Div`, `Mul` by `g`), the norm over every
 * axis but `dim`. ONNX has no weight-norm op; a weight-normalized dense layer exports its folded
 * weight instead (see `weightNormLinearOnnx`).
 */
export const weightNormOnnx: OnnxExport<WeightNormTypes> = {
  evalGraph({ options, params, input, graph }) {
    const direction = onnxNormalizePrimitive(graph, input, normAxesOf(options), { centered: false, eps: options.eps ?? 0, reduction: 'sum' });
    const g = params.g;
    return g === undefined ? direction : graph.node('Mul', [direction, graph.constant('g', float64Values(g), gShapeOf(options))]);
  },
};
