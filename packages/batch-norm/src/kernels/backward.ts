import { blockedShape, forEachRun, isRowMajor, rowMajorStrides } from '@normkit/core';
import type { FloatArray, Shape } from '@normkit/core';

/**
 * The reduction pass of batch norm's backward: per channel, in float64,
 *
 * `sumDy[c] = Σ dy`,  `sumDyCentered[c] = Σ dy·(x − mean[c])`,
 *
 * from which `dβ = sumDy`, `dγ = sumDyCentered·invStd` and the mean and variance terms of `dx`
 * follow. One read of `x` and `dy`.
 *
 * @param x - input buffer, with `shape`, `xStrides`, `xOffset`
 * @param dy - upstream gradient buffer, same shape, with `dyStrides`, `dyOffset`
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
    let p = xOffset;
    let q = dyOffset;
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) {
          const g = dy[q++];
          sumDy[c] += g;
          sumDyCentered[c] += g * (x[p++] - mean[c]);
        }
      }
      return;
    }
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
 * `dx = a[c]·dy + b[c]·(x − mean[c]) + k[c]`
 *
 * where, in train mode (batch statistics), `a = γ·invStd`, `b = −γ·invStd³·Σdy(x−μ)/m`,
 * `k = −γ·invStd·Σdy/m`, which is the compact form `dx = invStd/m·(m·g − Σg − x̂·Σ(g·x̂))`
 * with `g = dy·γ`; in eval mode `a = γ·invStd`, `b = k = 0`.
 *
 * @param x - input buffer, with `shape`, `xStrides`, `xOffset`
 * @param dy - upstream gradient buffer, with `dyStrides`, `dyOffset`
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
    let p = xOffset;
    let q = dyOffset;
    let r = 0;
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < channels; c++) dx[r++] = a[c] * dy[q++] + b[c] * (x[p++] - mean[c]) + k[c];
      }
      return;
    }
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
