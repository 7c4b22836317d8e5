// Importing a trained Keras / TF.js LayerNormalization. The reference is Keras's computation in
// float64: over the normalized (trailing) axes of each sample, y = γ (x − E[x]) / √(Var[x] + ε) + β
// with the biased variance. float64 layers are compared at 1e-12 (values of order 1, a few
// roundings per element).
import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { maxAbsDifference, randn, thrownError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { layerNormFromKeras } from './from-keras.js';

/** Keras's output, rows of `size` trailing values; γ and β flat (row-major) of that size. */
function kerasLayerNorm(x: Tensor, size: number, gamma: number[], beta: number[], eps: number): number[] {
  const values = toTypedArray(x);
  const out: number[] = [];
  for (let start = 0; start < values.length; start += size) {
    let mean = 0;
    for (let i = 0; i < size; i++) mean += values[start + i] / size;
    let variance = 0;
    for (let i = 0; i < size; i++) variance += (values[start + i] - mean) ** 2 / size;
    for (let i = 0; i < size; i++) out.push((gamma[i] * (values[start + i] - mean)) / Math.sqrt(variance + eps) + beta[i]);
  }
  return out;
}

const gamma5 = [1.5, 0.5, -1, 2, 0.25];
const beta5 = [0.1, -0.2, 0.3, 0, 1];
const gamma34 = [
  [1, 2, 0.5, -1],
  [0.25, 1.5, 1, 3],
  [2, -0.5, 1, 0.75],
];
const beta34 = [
  [0, 0.1, 0.2, 0.3],
  [-0.1, 0, 0.5, 1],
  [0.4, 0.3, -0.2, -0.1],
];

describe('layerNormFromKeras', () => {
  it('axis -1 (the default), epsilon 1e-3: equals Keras (float64, 1e-12)', () => {
    const ln = layerNormFromKeras({ className: 'LayerNormalization', config: { axis: -1, epsilon: 0.001, center: true, scale: true, dtype: 'float64' }, weights: [gamma5, beta5] });
    expect(ln.options).toEqual({ normalizedShape: [5], eps: 1e-3, elementwiseAffine: true, bias: true });
    const x = randn([3, 4, 5], 1, 'float64', 1, 2);
    expect(maxAbsDifference(toTypedArray(ln.forward(x)), kerasLayerNorm(x, 5, gamma5, beta5, 1e-3))).toBeLessThan(1e-12);
  });

  it('axis [1, 2] with build_config.input_shape, γ nested (3, 4) or a flat Float64Array; [-2, -1] needs no input shape', () => {
    const x = randn([2, 3, 4], 2, 'float64');
    const expected = kerasLayerNorm(x, 12, gamma34.flat(), beta34.flat(), 1e-3);
    const nested = layerNormFromKeras({ config: { axis: [1, 2] }, weights: [gamma34, beta34], inputShape: [null, 3, 4] }, { dtype: 'float64' });
    expect(nested.options.normalizedShape).toEqual([3, 4]);
    expect(maxAbsDifference(toTypedArray(nested.forward(x)), expected)).toBeLessThan(1e-12);
    const flat = layerNormFromKeras(
      { config: { axis: [1, 2] }, weights: [new Float64Array(gamma34.flat()), new Float64Array(beta34.flat())], inputShape: [null, 3, 4] },
      { dtype: 'float64' },
    );
    expect(maxAbsDifference(toTypedArray(flat.forward(x)), expected)).toBeLessThan(1e-12);
    const negative = layerNormFromKeras({ config: { axis: [-2, -1] }, weights: { 'ln/gamma:0': gamma34, 'ln/beta:0': beta34 } }, { dtype: 'float64' });
    expect(maxAbsDifference(toTypedArray(negative.forward(x)), expected)).toBeLessThan(1e-12);
  });

  it('scale without center is bias: false; center without scale needs fillMissingAffine (γ = 1); neither needs the input shape', () => {
    const x = randn([4, 5], 3, 'float64');
    const scaleOnly = layerNormFromKeras({ config: { center: false }, weights: [gamma5] }, { dtype: 'float64' });
    expect(scaleOnly.options).toMatchObject({ elementwiseAffine: true, bias: false });
    expect(maxAbsDifference(toTypedArray(scaleOnly.forward(x)), kerasLayerNorm(x, 5, gamma5, [0, 0, 0, 0, 0], 1e-3))).toBeLessThan(1e-12);
    const centerOnly = { config: { scale: false }, weights: [beta5] };
    expect(thrownError(() => layerNormFromKeras(centerOnly)).message).toContain('fillMissingAffine');
    const filled = layerNormFromKeras(centerOnly, { dtype: 'float64', fillMissingAffine: true });
    expect(maxAbsDifference(toTypedArray(filled.forward(x)), kerasLayerNorm(x, 5, [1, 1, 1, 1, 1], beta5, 1e-3))).toBeLessThan(1e-12);
    const neither = { config: { center: false, scale: false }, weights: [] };
    const missing = thrownError(() => layerNormFromKeras(neither));
    expect(missing.code).toBe('E_OPTION');
    expect(missing.message).toContain('pass layer.inputShape');
    const bare = layerNormFromKeras({ ...neither, inputShape: [null, 5] }, { dtype: 'float64' });
    expect(bare.options).toMatchObject({ normalizedShape: [5], elementwiseAffine: false });
    expect(maxAbsDifference(toTypedArray(bare.forward(x)), kerasLayerNorm(x, 5, [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], 1e-3))).toBeLessThan(1e-12);
  });

  it('refuses axes that are not the trailing ones in order, rms_scaling, and a non-negative axis without the input shape', () => {
    const cases: [() => unknown, string, string[]][] = [
      [() => layerNormFromKeras({ config: { axis: 1 }, weights: [[1, 1, 1], [0, 0, 0]], inputShape: [null, 3, 4] }), 'E_OPTION', ['trailing axes in order ([2] here)', 'transposed view']],
      [() => layerNormFromKeras({ config: { axis: [-1, -2] }, weights: [gamma34, beta34] }), 'E_OPTION', ['[-2,-1] here', 'got [-1,-2]']],
      [() => layerNormFromKeras({ config: { axis: 2 }, weights: [gamma5, beta5] }), 'E_OPTION', ['config.axis: 2 counts from the batch axis', 'pass layer.inputShape']],
      [() => layerNormFromKeras({ config: { axis: 3 }, weights: [gamma5, beta5], inputShape: [null, 5] }), 'E_OPTION', ['expected an axis in [-2, 1] for input rank 2, got 3']],
      // rms_scaling builds γ only: the refusal comes before the weight count
      [() => layerNormFromKeras({ config: { rms_scaling: true }, weights: [gamma5] }), 'E_OPTION', ['config.rms_scaling', 'without β or centering']],
      // a built layer stores its axis non-negative: the message says where the input shape comes from
      [() => layerNormFromKeras({ config: { axis: [2] }, weights: [gamma5, beta5] }), 'E_OPTION', ["layer.get_build_config()['input_shape']"]],
      [() => layerNormFromKeras({ config: {}, weights: [gamma5, [0, 0]] }), 'E_STATE', ['expected one shape for all', 'gamma [5], beta [2]']],
      [() => layerNormFromKeras({ config: { axis: [-2, -1] }, weights: [gamma5, beta5] }), 'E_OPTION', ['one size per axis', 'got shape [5]']],
      [() => layerNormFromKeras({ config: {}, weights: [gamma5, beta5], inputShape: [null, 6] }), 'E_STATE', ['layer.inputShape has sizes [6] at axis -1, the weights [5]']],
    ];
    for (const [call, code, parts] of cases) {
      const error = thrownError(call);
      expect(error.code, error.message).toBe(code);
      for (const part of parts) expect(error.message).toContain(part);
    }
  });
});
