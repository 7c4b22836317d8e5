// Importing a trained Keras 3 RMSNormalization. The reference is Keras's computation in float64:
// over the normalized (trailing) axes of each sample, y = x / √(mean(x²) + ε) · scale. float64
// layers are compared at 1e-12 (values of order 1, a few roundings per element); float32 layers
// at 1e-6 (float32 keeps 24 bits: outputs of order 1 round at 6e-8, with the input and scale
// rounded to float32 first).
import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { maxAbsDifference, randn, thrownError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { rmsNormFromKeras } from './from-keras.js';
import { rmsNormKeras } from './keras.js';
import { rmsNorm } from './plugin.js';

/** Keras's output, rows of `size` trailing values; `scale` flat (row-major) of that size. */
function kerasRmsNorm(x: Tensor, size: number, scale: number[], eps: number): number[] {
  const values = toTypedArray(x);
  const out: number[] = [];
  for (let start = 0; start < values.length; start += size) {
    let meanSquare = 0;
    for (let i = 0; i < size; i++) meanSquare += values[start + i] ** 2 / size;
    for (let i = 0; i < size; i++) out.push((values[start + i] / Math.sqrt(meanSquare + eps)) * scale[i]);
  }
  return out;
}

const scale5 = [1.5, 0.5, -1, 2, 0.25];
const scale34 = [
  [1, 2, 0.5, -1],
  [0.25, 1.5, 1, 3],
  [2, -0.5, 1, 0.75],
];

describe('rmsNormFromKeras', () => {
  it('is declared on the plugin', () => {
    expect(rmsNorm.keras).toBe(rmsNormKeras);
    expect(rmsNormKeras.className).toBe('RMSNormalization');
  });

  it('axis -1: eps from epsilon (Keras default 1e-6), scale as weight, float64 to 1e-12', () => {
    const x = randn([4, 6, 5], 1, 'float64');
    const layer = rmsNormFromKeras({ config: { name: 'rms', trainable: true, dtype: 'float32', axis: -1, epsilon: 1e-6 }, weights: [scale5] }, { dtype: 'float64' });
    expect(layer.options).toMatchObject({ normalizedShape: [5], eps: 1e-6, elementwiseAffine: true });
    expect(maxAbsDifference(toTypedArray(layer.forward(x)), kerasRmsNorm(x, 5, scale5, 1e-6))).toBeLessThan(1e-12);
    // A layer built by Keras 3 stores its axis as a list ([-1] in early releases, [2] with inputShape now); epsilon left out is Keras's 1e-6.
    for (const built of [
      rmsNormFromKeras({ config: { axis: [-1] }, weights: { scale: scale5 } }, { dtype: 'float64' }),
      rmsNormFromKeras({ config: { axis: [2] }, weights: { scale: scale5 }, inputShape: [null, 6, 5] }, { dtype: 'float64' }),
      rmsNormFromKeras({ config: { axis: [-1, -1] }, weights: { scale: scale5 } }, { dtype: 'float64' }),
    ]) {
      expect(built.options.eps).toBe(1e-6);
      expect(maxAbsDifference(toTypedArray(built.forward(x)), kerasRmsNorm(x, 5, scale5, 1e-6))).toBeLessThan(1e-12);
    }
  });

  it("reproduces Keras's documented example: x = 0..9 gives 0, 0.1873, 0.3746, …, 1.6859 (4 digits given)", () => {
    // keras PR #20911: mean(x²) = 28.5, so y = x / √28.5 (ε = 1e-6 moves the 7th digit).
    const x = randn([1, 10], 0, 'float32');
    (x.data as Float32Array).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = toTypedArray(rmsNormFromKeras({ config: { axis: -1 }, weights: [new Array(10).fill(1)] }).forward(x));
    const documented = [0, 0.1873, 0.3746, 1.6859];
    const got = [y[0], y[1], y[2], y[9]];
    expect(maxAbsDifference(got, documented)).toBeLessThan(5e-5);
    expect(maxAbsDifference(Array.from(y), kerasRmsNorm(x, 10, new Array(10).fill(1), 1e-6))).toBeLessThan(1e-6);
  });

  it('several trailing axes: a nested or flat scale, negative axes or non-negative ones with inputShape', () => {
    const x = randn([2, 3, 4], 2, 'float64');
    const flat = scale34.flat();
    const expected = kerasRmsNorm(x, 12, flat, 1e-3);
    for (const layer of [
      { config: { axis: [-2, -1], epsilon: 1e-3 }, weights: [scale34] },
      { config: { axis: [-2, -1], epsilon: 1e-3 }, weights: [flat], inputShape: [null, 3, 4] },
      { config: { axis: [1, 2], epsilon: 1e-3 }, weights: [scale34], inputShape: [null, 3, 4] },
      { config: { axis: [2, 1], epsilon: 1e-3 }, weights: [scale34], inputShape: [null, 3, 4] }, // Keras sorts the axes
      { config: { axis: [-1, 1], epsilon: 1e-3 }, weights: [scale34], inputShape: [null, 3, 4] }, // resolved first: {2, 1} → [1, 2]
      { config: { axis: [2, 1, -1], epsilon: 1e-3 }, weights: [scale34], inputShape: [null, 3, 4] }, // duplicates dropped
    ]) {
      const rms = rmsNormFromKeras(layer, { dtype: 'float64' });
      expect(rms.options.normalizedShape).toEqual([3, 4]);
      expect(maxAbsDifference(toTypedArray(rms.forward(x)), expected)).toBeLessThan(1e-12);
    }
  });

  it('float32 by default; trainable false comes back in eval mode; overrides win', () => {
    const x = randn([3, 5], 4, 'float32');
    const layer = rmsNormFromKeras({ config: { axis: -1, trainable: false }, weights: [scale5] });
    expect(layer.dtype).toBe('float32');
    expect(layer.mode).toBe('eval');
    expect(maxAbsDifference(toTypedArray(layer.forward(x)), kerasRmsNorm(x, 5, scale5, 1e-6))).toBeLessThan(1e-6);
    expect(rmsNormFromKeras({ config: { axis: -1 }, weights: [scale5] }, { overrides: { eps: 1e-5 } }).options.eps).toBe(1e-5);
  });

  it('refuses what it cannot reproduce, naming the key', () => {
    const cases: [() => unknown, string, string[]][] = [
      // KerasHub's Gemma-style layer: no axis in its config, weight 1 + scale
      [() => rmsNormFromKeras({ config: { name: 'gemma_norm', epsilon: 1e-6 }, weights: [scale5] }), 'E_OPTION', ['no axis', '1 + scale', 'config.axis -1', "read the layer's call"]],
      [() => rmsNormFromKeras({ config: { axis: 1 }, weights: [[1, 1, 1]], inputShape: [null, 3, 4] }), 'E_OPTION', ['trailing axes in order ([2] here)', 'transposed view']],
      [() => rmsNormFromKeras({ config: { axis: [1] }, weights: [scale5] }), 'E_OPTION', ['counts from the batch axis', 'pass layer.inputShape']],
      [() => rmsNormFromKeras({ config: { axis: -1, epsilon: 0 }, weights: [scale5] }), 'E_OPTION', ['config.epsilon', 'expected a finite number > 0, got 0']],
      [() => rmsNormFromKeras({ config: { axis: -1 }, weights: [scale5, scale5] }), 'E_STATE', ['scale']],
      [() => rmsNormFromKeras({ config: { axis: -1 }, weights: { gamma: scale5 } }), 'E_STATE', ['scale']],
      [() => rmsNormFromKeras({ config: { axis: [-2, -1] }, weights: [scale5] }), 'E_OPTION', ['one size per axis', 'got shape [5]']],
      [() => rmsNormFromKeras({ config: { axis: -1 }, weights: [scale5], inputShape: [null, 6] }), 'E_STATE', ['layer.inputShape has sizes [6] at axis -1, the weights [5]']],
      [() => rmsNormFromKeras({ config: { axis: -1 }, weights: [[1, Number.NaN, 1, 1, 1]] }), 'E_NONFINITE', ['scale', 'NaN']],
      [() => rmsNormFromKeras({ className: 'LayerNormalization', config: { axis: -1 }, weights: [scale5] }), 'E_OPTION', ['imports RMSNormalization']],
    ];
    for (const [call, code, parts] of cases) {
      const error = thrownError(call);
      expect(error.code, error.message).toBe(code);
      for (const part of parts) expect(error.message).toContain(part);
    }
  });
});
