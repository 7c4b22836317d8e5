import { blockedShape, forEachRun, isRowMajor, rowMajorStrides } from '@normkit/core';
import type { FloatArray, Shape } from '@normkit/core';
import { tileRows } from './tiles.js';

/**
 * The forward kernel of batch norm, for train and eval alike: a per-channel affine map
 *
 * $$y = (x - \mathrm{mean}_c)\cdot \mathrm{scale}_c + \mathrm{shift}_c,\qquad \mathrm{scale}_c = \frac{\gamma_c}{\sqrt{\sigma_c^2 + \epsilon}},\quad \mathrm{shift}_c = \beta_c$$
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
    if (inner === 1) {
      normalizeChannelsLast(x, xOffset, outer, channels, mean, scale, shift, y);
      return;
    }
    let p = xOffset;
    let q = 0;
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

/**
 * The channel-innermost (`(rows, C)` row-major) case of {@link normalizeKernel}: tiles of
 * whole rows, four channels at a time with their constants in registers, so each element
 * costs one load, one store and three flops.
 */
function normalizeChannelsLast(
  x: FloatArray,
  xOffset: number,
  rows: number,
  channels: number,
  mean: Float64Array,
  scale: Float64Array,
  shift: Float64Array,
  y: FloatArray,
): void {
  const perTile = tileRows(channels);
  const wide = channels - (channels % 4);
  for (let r0 = 0; r0 < rows; r0 += perTile) {
    const tileEnd = Math.min(rows, r0 + perTile);
    for (let c = 0; c < wide; c += 4) {
      const m0 = mean[c], m1 = mean[c + 1], m2 = mean[c + 2], m3 = mean[c + 3];
      const s0 = scale[c], s1 = scale[c + 1], s2 = scale[c + 2], s3 = scale[c + 3];
      const b0 = shift[c], b1 = shift[c + 1], b2 = shift[c + 2], b3 = shift[c + 3];
      for (let r = r0, q = r0 * channels + c, p = xOffset + q; r < tileEnd; r++, p += channels, q += channels) {
        y[q] = (x[p] - m0) * s0 + b0;
        y[q + 1] = (x[p + 1] - m1) * s1 + b1;
        y[q + 2] = (x[p + 2] - m2) * s2 + b2;
        y[q + 3] = (x[p + 3] - m3) * s3 + b3;
      }
    }
    for (let c = wide; c < channels; c++) {
      const m = mean[c];
      const s = scale[c];
      const b = shift[c];
      for (let r = r0, q = r0 * channels + c, p = xOffset + q; r < tileEnd; r++, p += channels, q += channels) y[q] = (x[p] - m) * s + b;
    }
  }
}
