/**
 * `@normkit/onnx`: export normkit layers to ONNX.
 *
 * - {@link exportOnnx}: the eval-mode graph of one or more layers applied in sequence, with
 *   parameters and running statistics as initializers, as `.onnx` bytes for ONNX Runtime.
 *
 * The exporter knows no layer: each plugin declares its nodes in its own `onnx.ts` (typed by
 * `OnnxExport` of `@normkit/core`, which has no protobuf dependency), and this package turns
 * them into protobuf with `onnx-proto`.
 *
 * @packageDocumentation
 */
export { exportOnnx } from './export-onnx.js';
export type { ExportOnnxOptions, OnnxExportableLayer } from './export-onnx.js';
export { MAX_ONNX_OPSET, MIN_ONNX_OPSET, irVersionFor } from './opset.js';
export { VERSION } from './version.js';
