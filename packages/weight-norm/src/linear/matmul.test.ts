import { describe, expect, it } from 'vitest';
import { toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { scaledMaxError } from '../../test/numeric.js';
import { linearBackwardKernel, linearForwardKernel } from './matmul.js';

// y = x·Wᵀ + b and its backward against plain triple loops, with x and dy read from an
// offset in a larger buffer (as a contiguous view into it would be). float64 to 1e-15.
describe('dense matrix products', () => {
  const rows = 4;
  const inF = 5;
  const outF = 3;
  const xBuffer = toTypedArray(randn([2 + rows * inF], 1));
  const dyBuffer = toTypedArray(randn([3 + rows * outF], 2));
  const weight = Float64Array.from(toTypedArray(randn([outF, inF], 3)));
  const bias = Float64Array.from(toTypedArray(randn([outF], 4)));
  const x = (n: number, i: number) => xBuffer[2 + n * inF + i];
  const dy = (n: number, o: number) => dyBuffer[3 + n * outF + o];

  it('forward: y_no = Σ_i x_ni·W_oi + b_o, with and without a bias', () => {
    const y = new Float64Array(rows * outF);
    linearForwardKernel(xBuffer, 2, rows, inF, weight, bias, outF, y);
    const expected = new Float64Array(rows * outF);
    for (let n = 0; n < rows; n++) {
      for (let o = 0; o < outF; o++) {
        let acc = 0;
        for (let i = 0; i < inF; i++) acc += x(n, i) * weight[o * inF + i];
        expected[n * outF + o] = acc + bias[o];
      }
    }
    expect(scaledMaxError(y, expected)).toBeLessThan(1e-15);
    const noBias = new Float32Array(rows * outF);
    linearForwardKernel(xBuffer, 2, rows, inF, weight, null, outF, noBias);
    expect(scaledMaxError(noBias, expected.map((v, k) => v - bias[k % outF]))).toBeLessThan(1e-6); // float32 output
  });

  it('backward: dx = dy·W, dW = dyᵀ·x, db = Σ_n dy (outputs overwritten, not accumulated)', () => {
    const dx = new Float64Array(rows * inF);
    const dWeight = new Float64Array(outF * inF).fill(7);
    const dBias = new Float64Array(outF).fill(7);
    linearBackwardKernel(xBuffer, 2, rows, inF, weight, outF, dyBuffer, 3, dx, dWeight, dBias);
    const dxExpected = new Float64Array(rows * inF);
    const dwExpected = new Float64Array(outF * inF);
    const dbExpected = new Float64Array(outF);
    for (let n = 0; n < rows; n++) {
      for (let o = 0; o < outF; o++) {
        dbExpected[o] += dy(n, o);
        for (let i = 0; i < inF; i++) {
          dxExpected[n * inF + i] += dy(n, o) * weight[o * inF + i];
          dwExpected[o * inF + i] += dy(n, o) * x(n, i);
        }
      }
    }
    expect(scaledMaxError(dx, dxExpected)).toBeLessThan(1e-15);
    expect(scaledMaxError(dWeight, dwExpected)).toBeLessThan(1e-15);
    expect(scaledMaxError(dBias, dbExpected)).toBeLessThan(1e-15);
  });
});
