/** The lowest opset `exportOnnx` writes (`ReduceSum` with axes as an input, `Reshape`, `Gemm`). */
export const MIN_ONNX_OPSET = 13;

/**
 * The newest opset `exportOnnx` knows, and its default: there every layer has its own ONNX op
 * (`BatchNormalization`-15, `LayerNormalization`-17, `GroupNormalization`-21,
 * `RMSNormalization`-23).
 */
export const MAX_ONNX_OPSET = 23;

/**
 * The ONNX IR version that goes with an opset of the default domain (ONNX's versioning table:
 * opset 13–14 → IR 7, 15–18 → 8, 19–20 → 9, 21–22 → 10, 23 → 11).
 *
 * @param opset - between {@link MIN_ONNX_OPSET} and {@link MAX_ONNX_OPSET}
 * @returns the IR version a model with that opset declares
 */
export function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}
