import { describe, expect, it } from 'vitest';
import { dtypeOf, fromArray, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../../test/errors.js';
import { bytesOf } from '../../test/numeric.js';
import { initFromBatch } from './init.js';
import type { WeightNormLinearInputOptions } from './options.js';
import { weightNormLinear } from './plugin.js';
import type { WeightNormLinearParams } from './weight.js';

function forward(x: Tensor, params: WeightNormLinearParams, input: WeightNormLinearInputOptions): Tensor {
  return weightNormLinear.create(input).forward({ x, params, state: {}, mode: 'train' }).y;
}

/** Mean and biased variance of one output unit over every row, in float64. */
function meanAndVariance(y: Tensor, unit: number): [number, number] {
  const values = toTypedArray(y);
  const out = y.shape[y.shape.length - 1];
  const rows = values.length / out;
  let mean = 0;
  for (let n = 0; n < rows; n++) mean += values[n * out + unit];
  mean /= rows;
  let variance = 0;
  for (let n = 0; n < rows; n++) variance += (values[n * out + unit] - mean) ** 2;
  return [mean, variance / rows];
}

describe('initFromBatch (data-dependent initialization)', () => {
  it('the outputs on that batch have per-unit mean 0 and variance 1 (to 1e-10, float64); v is kept, the inputs untouched', () => {
    const options = { inFeatures: 8, outFeatures: 5, seed: 3 };
    const { params } = weightNormLinear.create(options).init('float64');
    const x = randn([64, 8], 31, 'float64', 2, 3);
    const before = bytesOf(params.v, params.g, params.bias, x);
    const next = initFromBatch(params, x, options);
    expect(next.v).toBe(params.v);
    expect(bytesOf(params.v, params.g, params.bias, x)).toBe(before);
    const y = forward(x, next, options);
    for (let o = 0; o < 5; o++) {
      const [mean, variance] = meanAndVariance(y, o);
      expect(Math.abs(mean)).toBeLessThan(1e-10);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-10);
    }
  });

  it('works with leading axes, a strided batch, eps and gInit one; float32 to 1e-5', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const options = { inFeatures: 4, outFeatures: 3, eps: 1e-3, gInit: 'one' as const };
      const { params } = weightNormLinear.create(options).init(dtype);
      const x = randn([4, 5, 4], 41, dtype, -1, 0.5);
      const next = initFromBatch(params, x, options);
      expect(dtypeOf(next.g as Tensor)).toBe(dtype);
      expect(dtypeOf(next.bias as Tensor)).toBe(dtype);
      const strided = toContiguous(x.transpose(2, 1, 0)).transpose(2, 1, 0);
      expect(bytesOf(initFromBatch(params, strided, options).g)).toBe(bytesOf(next.g));
      const y = forward(x, next, options);
      const tol = dtype === 'float64' ? 1e-10 : 1e-5;
      for (let o = 0; o < 3; o++) {
        const [mean, variance] = meanAndVariance(y, o);
        expect(Math.abs(mean)).toBeLessThan(tol);
        expect(Math.abs(variance - 1)).toBeLessThan(tol);
      }
    }
  });

  it('without a bias only g is set: variance 1 (to 1e-10)', () => {
    const options = { inFeatures: 3, outFeatures: 2, bias: false };
    const { params } = weightNormLinear.create(options).init('float64');
    const x = randn([20, 3], 51, 'float64', 1, 1);
    const next = initFromBatch(params, x, options);
    expect(next.bias).toBeUndefined();
    const y = forward(x, next, options);
    for (let o = 0; o < 2; o++) expect(Math.abs(meanAndVariance(y, o)[1] - 1)).toBeLessThan(1e-10);
  });

  it.each([
    ['g of shape (out, 1)', (p: WeightNormLinearParams) => ({ ...p, g: zeros([3, 1], 'float64') }), 'E_SHAPE'],
    ['v transposed', (p: WeightNormLinearParams) => ({ ...p, v: randn([4, 3], 2) }), 'E_SHAPE'],
    ['bias missing', (p: WeightNormLinearParams) => ({ v: p.v, g: p.g }), 'E_STATE'],
    ['v in float32 with a float64 batch', (p: WeightNormLinearParams) => ({ ...p, v: toContiguous(p.v as Tensor, 'float32') }), 'E_DTYPE'],
    ['a zero row of v without eps', (p: WeightNormLinearParams) => ({ ...p, v: fromArray([1, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1, 1], [3, 4], 'float64') }), 'E_DEGENERATE'],
  ] as [string, (p: WeightNormLinearParams) => WeightNormLinearParams, string][])('%s → %s, params unchanged', (_, edit, code) => {
    const options = { inFeatures: 4, outFeatures: 3 };
    const params = edit(weightNormLinear.create(options).init('float64').params);
    const x = randn([5, 4], 3);
    const before = bytesOf(params.v, params.g, params.bias, x);
    expectCode(() => initFromBatch(params, x, options), code);
    expect(bytesOf(params.v, params.g, params.bias, x)).toBe(before);
  });

  it('one row, or a unit constant over the batch → E_DEGENERATE; a last axis ≠ inFeatures → E_SHAPE; bad options → E_OPTION', () => {
    const options = { inFeatures: 2, outFeatures: 2 };
    const { params } = weightNormLinear.create(options).init('float64');
    expectCode(() => initFromBatch(params, randn([1, 2], 1), options), 'E_DEGENERATE');
    expectCode(() => initFromBatch(params, fromArray([1, 2, 1, 2, 1, 2], [3, 2], 'float64'), options), 'E_DEGENERATE');
    expectCode(() => initFromBatch(params, randn([5, 3], 1), options), 'E_SHAPE');
    expectCode(() => initFromBatch(params, randn([5, 2], 1), { ...options, seed: -1 }), 'E_OPTION');
  });
});
