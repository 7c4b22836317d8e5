import { blockedShape, forEachRun, isRowMajor, rowMajorStrides } from '@normkit/core';
import type { FloatArray, Shape } from '@normkit/core';
import { tileRows } from './tiles.js';

/**
 * The reduction pass of batch norm's backward: per channel, in float64,
 *
 * $$\mathrm{sumDy}_c = \textstyle\sum dy,\qquad \mathrm{sumDyCentered}_c = \textstyle\sum dy\,(x - \mathrm{mean}_c)$$
 *
 * over the elements of channel $`c`$,
 * from which `dβ = sumDy`, `dγ = sumDyCentered·invStd` and the mean and variance terms of `dx`
 * follow. One read of `x` and `dy`.
 *
 * @param x - input buffer
 * @param shape - the shape of `x` and `dy`
 * @param xStrides - the strides of `x`, in elements (any, including negative)
 * @param xOffset - the index in `x` of element (0, …, 0)
 * @param dy - upstream gradient buffer
 * @param dyStrides - the strides of `dy`, in elements
 * @param dyOffset - the index in `dy` of element (0, …, 0)
 * @param channelAxis - the (non-negative) channel axis
 * @param mean - per-channel mean used in forward
 * @param sumDy - output, per channel (overwritten)
 * @param sumDyCentered - output, per channel (overwritten)
 */
export function gradientSumsKernel(
  x: FloatArray,
  shape: Shape,
  xStrides: readonly number[],
  xOffset: number,
  dy: FloatArray,
  dyStrides: readonly number[],
  dyOffset: number,
  channelAxis: number,
  mean: Float64Array,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
): void {
  const channels = mean.length;
  sumDy.fill(0);
  sumDyCentered.fill(0);
  if (isRowMajor(shape, xStrides) && isRowMajor(shape, dyStrides)) {
    const { outer, inner } = blockedShape(shape, [channelAxis]) as { outer: number; inner: number };
    if (inner === 1) {
      gradientSumsChannelsLast(x, xOffset, dy, dyOffset, outer, channels, mean, sumDy, sumDyCentered);
      return;
    }
    let p = xOffset;
    let q = dyOffset;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const m = mean[c];
        let s = 0;
        let sc = 0;
        for (let i = 0; i < inner; i++) {
          const g = dy[q++];
          s += g;
          sc += g * (x[p++] - m);
        }
        sumDy[c] += s;
        sumDyCentered[c] += sc;
      }
    }
    return;
  }
  forEachRun(shape, [xStrides, dyStrides], [xOffset, dyOffset], [channelAxis], (length, channel, channelStep, pointers, steps) => {
    let p = pointers[0];
    let q = pointers[1];
    const xStep = steps[0];
    const dyStep = steps[1];
    if (channelStep === 0) {
      const m = mean[channel];
      let s = 0;
      let sc = 0;
      for (let i = 0; i < length; i++, p += xStep, q += dyStep) {
        const g = dy[q];
        s += g;
        sc += g * (x[p] - m);
      }
      sumDy[channel] += s;
      sumDyCentered[channel] += sc;
    } else {
      for (let i = 0, c = channel; i < length; i++, p += xStep, q += dyStep, c += channelStep) {
        const g = dy[q];
        sumDy[c] += g;
        sumDyCentered[c] += g * (x[p] - mean[c]);
      }
    }
  });
}

/**
 * The elementwise pass of batch norm's backward: per channel constants
 *
 * $$dx = a_c\,dy + b_c\,(x - \mathrm{mean}_c) + k_c$$
 *
 * where, with batch statistics (train mode), $`s = 1/\sqrt{\sigma_c^2 + \epsilon}`$ and $`m`$
 * values per channel,
 *
 * $$a_c = \gamma_c s,\qquad b_c = -\frac{\gamma_c s^3}{m}\textstyle\sum dy\,(x - \mu_c),\qquad k_c = -\frac{\gamma_c s}{m}\textstyle\sum dy$$
 *
 * which is the compact form $`dx = \tfrac{s}{m}\big(m g - \sum g - \hat x \sum g \hat x\big)`$
 * with $`g = dy\cdot\gamma_c`$; with running statistics (eval mode) $`a_c = \gamma_c s`$ and $`b_c = k_c = 0`$.
 *
 * @param x - input buffer
 * @param shape - the shape of `x`, `dy` and `dx`
 * @param xStrides - the strides of `x`, in elements (any, including negative)
 * @param xOffset - the index in `x` of element (0, …, 0)
 * @param dy - upstream gradient buffer
 * @param dyStrides - the strides of `dy`, in elements
 * @param dyOffset - the index in `dy` of element (0, …, 0)
 * @param channelAxis - the (non-negative) channel axis
 * @param mean - per-channel mean used in forward
 * @param a - per-channel coefficient of dy
 * @param b - per-channel coefficient of (x − mean)
 * @param k - per-channel constant
 * @param dx - output buffer, row-major with `shape`, offset 0
 */
export function inputGradientKernel(
  x: FloatArray,
  shape: Shape,
  xStrides: readonly number[],
  xOffset: number,
  dy: FloatArray,
  dyStrides: readonly number[],
  dyOffset: number,
  channelAxis: number,
  mean: Float64Array,
  a: Float64Array,
  b: Float64Array,
  k: Float64Array,
  dx: FloatArray,
): void {
  const channels = mean.length;
  if (isRowMajor(shape, xStrides) && isRowMajor(shape, dyStrides)) {
    const { outer, inner } = blockedShape(shape, [channelAxis]) as { outer: number; inner: number };
    if (inner === 1) {
      inputGradientChannelsLast(x, xOffset, dy, dyOffset, outer, channels, mean, a, b, k, dx);
      return;
    }
    let p = xOffset;
    let q = dyOffset;
    let r = 0;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const m = mean[c];
        const ac = a[c];
        const bc = b[c];
        const kc = k[c];
        const end = r + inner;
        while (r < end) dx[r++] = ac * dy[q++] + bc * (x[p++] - m) + kc;
      }
    }
    return;
  }
  forEachRun(
    shape,
    [xStrides, dyStrides, rowMajorStrides(shape)],
    [xOffset, dyOffset, 0],
    [channelAxis],
    (length, channel, channelStep, pointers, steps) => {
      let p = pointers[0];
      let q = pointers[1];
      let r = pointers[2];
      const xStep = steps[0];
      const dyStep = steps[1];
      const dxStep = steps[2];
      if (channelStep === 0) {
        const m = mean[channel];
        const ac = a[channel];
        const bc = b[channel];
        const kc = k[channel];
        for (let i = 0; i < length; i++, p += xStep, q += dyStep, r += dxStep) dx[r] = ac * dy[q] + bc * (x[p] - m) + kc;
      } else {
        for (let i = 0, c = channel; i < length; i++, p += xStep, q += dyStep, r += dxStep, c += channelStep) {
          dx[r] = a[c] * dy[q] + b[c] * (x[p] - mean[c]) + k[c];
        }
      }
    },
  );
}

/**
 * The channel-innermost case of {@link gradientSumsKernel}: tiles of whole rows, four
 * channels at a time with their sums in registers.
 */
function gradientSumsChannelsLast(
  x: FloatArray,
  xOffset: number,
  dy: FloatArray,
  dyOffset: number,
  rows: number,
  channels: number,
  mean: Float64Array,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
): void {
  const perTile = tileRows(channels);
  const wide = channels - (channels % 4);
  for (let r0 = 0; r0 < rows; r0 += perTile) {
    const tileEnd = Math.min(rows, r0 + perTile);
    for (let c = 0; c < wide; c += 4) {
      const m0 = mean[c], m1 = mean[c + 1], m2 = mean[c + 2], m3 = mean[c + 3];
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (let r = r0, p = xOffset + r0 * channels + c, q = dyOffset + r0 * channels + c; r < tileEnd; r++, p += channels, q += channels) {
        const g0 = dy[q], g1 = dy[q + 1], g2 = dy[q + 2], g3 = dy[q + 3];
        s0 += g0;
        s1 += g1;
        s2 += g2;
        s3 += g3;
        t0 += g0 * (x[p] - m0);
        t1 += g1 * (x[p + 1] - m1);
        t2 += g2 * (x[p + 2] - m2);
        t3 += g3 * (x[p + 3] - m3);
      }
      sumDy[c] += s0;
      sumDy[c + 1] += s1;
      sumDy[c + 2] += s2;
      sumDy[c + 3] += s3;
      sumDyCentered[c] += t0;
      sumDyCentered[c + 1] += t1;
      sumDyCentered[c + 2] += t2;
      sumDyCentered[c + 3] += t3;
    }
    for (let c = wide; c < channels; c++) {
      const m = mean[c];
      let s = 0;
      let t = 0;
      for (let r = r0, p = xOffset + r0 * channels + c, q = dyOffset + r0 * channels + c; r < tileEnd; r++, p += channels, q += channels) {
        const g = dy[q];
        s += g;
        t += g * (x[p] - m);
      }
      sumDy[c] += s;
      sumDyCentered[c] += t;
    }
  }
}

/**
 * The channel-innermost case of {@link inputGradientKernel}: tiles of whole rows, four
 * channels at a time with their coefficients in registers.
 */
function inputGradientChannelsLast(
  x: FloatArray,
  xOffset: number,
  dy: FloatArray,
  dyOffset: number,
  rows: number,
  channels: number,
  mean: Float64Array,
  a: Float64Array,
  b: Float64Array,
  k: Float64Array,
  dx: FloatArray,
): void {
  const perTile = tileRows(channels);
  const wide = channels - (channels % 4);
  for (let r0 = 0; r0 < rows; r0 += perTile) {
    const tileEnd = Math.min(rows, r0 + perTile);
    for (let c = 0; c < wide; c += 4) {
      const m0 = mean[c], m1 = mean[c + 1], m2 = mean[c + 2], m3 = mean[c + 3];
      const a0 = a[c], a1 = a[c + 1], a2 = a[c + 2], a3 = a[c + 3];
      const b0 = b[c], b1 = b[c + 1], b2 = b[c + 2], b3 = b[c + 3];
      const k0 = k[c], k1 = k[c + 1], k2 = k[c + 2], k3 = k[c + 3];
      for (let r = r0, o = r0 * channels + c, p = xOffset + o, q = dyOffset + o; r < tileEnd; r++, p += channels, q += channels, o += channels) {
        dx[o] = a0 * dy[q] + b0 * (x[p] - m0) + k0;
        dx[o + 1] = a1 * dy[q + 1] + b1 * (x[p + 1] - m1) + k1;
        dx[o + 2] = a2 * dy[q + 2] + b2 * (x[p + 2] - m2) + k2;
        dx[o + 3] = a3 * dy[q + 3] + b3 * (x[p + 3] - m3) + k3;
      }
    }
    for (let c = wide; c < channels; c++) {
      const m = mean[c];
      const ac = a[c];
      const bc = b[c];
      const kc = k[c];
      for (let r = r0, o = r0 * channels + c, p = xOffset + o, q = dyOffset + o; r < tileEnd; r++, p += channels, q += channels, o += channels) {
        dx[o] = ac * dy[q] + bc * (x[p] - m) + kc;
      }
    }
  }
}
