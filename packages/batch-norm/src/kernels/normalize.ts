import { blockedShape, forEachRun, isRowMajor, rowMajorStrides } from '@normkit/core';
import type { FloatArray, Shape } from '@normkit/core';

/**
 * The forward kernel of batch norm, for train and eval alike: a per-channel affine map
 *
 * `y = (x − mean[c])·scale[c] + shift[c]`,
 *
 * with `scale = γ·invStd` and `shift = β` computed once per channel by the caller, so the
 * loop does one subtract, one multiply and one add per element (no square root, no division).
 *
 * Contiguous `x` takes a blocked `(outer, C, inner)` loop in address order (NCHW: inner =
 * H·W; channels-last: inner = 1, channel innermost); any other view is walked run by run
 * in its own memory order.
 *
 * @param x - input buffer
 * @param shape - input shape
 * @param xStrides - input strides
 * @param xOffset - input offset
 * @param channelAxis - the (non-negative) channel axis
 * @param mean - per-channel mean subtracted (batch or running)
 * @param scale - per-channel γ·invStd
 * @param shift - per-channel β
 * @param y - output buffer, row-major with `shape`, offset 0 (may be Float32Array or Float64Array)
 */
export function normalizeKernel(
  x: FloatArray,
  shape: Shape,
  xStrides: readonly number[],
  xOffset: number,
  channelAxis: number,
  mean: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
  y: FloatArray,
): void {
  const channels = mean.length;
  if (isRowMajor(shape, xStrides)) {
    const { outer, inner } = blockedShape(shape, [channelAxis]) as { outer: number; inner: number };
    let p = xOffset;
    let q = 0;
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) y[q++] = (x[p++] - mean[c]) * scale[c] + shift[c];
      }
      return;
    }
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const m = mean[c];
        const s = scale[c];
        const b = shift[c];
        const end = q + inner;
        while (q < end) y[q++] = (x[p++] - m) * s + b;
      }
    }
    return;
  }
  forEachRun(shape, [xStrides, rowMajorStrides(shape)], [xOffset, 0], [channelAxis], (length, channel, channelStep, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    const xStep = steps[0];
    const yStep = steps[1];
    if (channelStep === 0) {
      const m = mean[channel];
      const s = scale[channel];
      const b = shift[channel];
      for (let i = 0; i < length; i++, p += xStep, q += yStep) y[q] = (x[p] - m) * s + b;
    } else {
      for (let i = 0, c = channel; i < length; i++, p += xStep, q += yStep, c += channelStep) y[q] = (x[p] - mean[c]) * scale[c] + shift[c];
    }
  });
}
