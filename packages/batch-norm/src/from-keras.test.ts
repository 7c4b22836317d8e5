// Importing a trained Keras / TF.js BatchNormalization. The reference is Keras's inference and
// training written out in float64 (channels last):
//   eval:  y = γ (x − moving_mean) / √(moving_variance + ε) + β
//   train: moving_mean ← m·moving_mean + (1 − m)·μ_B, moving_variance ← m·moving_variance + (1 − m)·σ²_B (biased).
// float64 layers are compared at 1e-12 (a few roundings of values of order 1); float32 layers at
// 2e-6 relative to the output scale (the weights and the input are rounded to float32, ~6e-8 each,
// and the map adds a few more roundings).
import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { maxAbsDifference, randn, thrownError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { batchNormFromKeras } from './from-keras.js';

const C = 3;
const gamma = [1.25, -0.5, 2];
const beta = [0.1, 0.2, -0.3];
const movingMean = [0.5, -1, 2];
const movingVariance = [0.8, 1.5, 0.25];

/** Keras's inference output for channels-last x, in float64. */
function kerasEval(x: Tensor, g: number[], b: number[], mean: number[], variance: number[], eps: number): number[] {
  return Array.from(toTypedArray(x), (value, i) => (g[i % C] * (value - mean[i % C])) / Math.sqrt(variance[i % C] + eps) + b[i % C]);
}

const pythonConfig = { name: 'batch_normalization', trainable: true, dtype: 'float64', axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true };

describe('batchNormFromKeras', () => {
  it('reads get_config() and get_weights() as tolist(): options as Keras means them, eval equals Keras inference (float64, 1e-12)', () => {
    const bn = batchNormFromKeras({ className: 'BatchNormalization', config: pythonConfig, weights: [gamma, beta, movingMean, movingVariance] });
    expect(bn.options).toEqual({ numFeatures: C, eps: 1e-3, momentum: 0.01, affine: true, trackRunningStats: true, channelAxis: -1, unbiasedRunningVar: false });
    expect(bn.dtype).toBe('float64');
    expect(bn.mode).toBe('train');
    const x = randn([2, 4, 5, C], 1, 'float64', 0.3, 1.7);
    const y = bn.eval().forward(x);
    expect(maxAbsDifference(toTypedArray(y), kerasEval(x, gamma, beta, movingMean, movingVariance, 1e-3))).toBeLessThan(1e-12);
  });

  it('float32 by default, and the weights are copies', () => {
    const weights = [new Float32Array(gamma), new Float32Array(beta), new Float32Array(movingMean), new Float32Array(movingVariance)];
    const bn = batchNormFromKeras({ config: {}, weights }).eval();
    expect(bn.dtype).toBe('float32');
    weights[0][0] = 100;
    const x = randn([6, C], 2, 'float32');
    const y = toTypedArray(bn.forward(x));
    const expected = kerasEval(x, gamma, beta, movingMean, movingVariance, 1e-3);
    const scale = Math.max(...expected.map(Math.abs));
    expect(maxAbsDifference(y, expected) / scale).toBeLessThan(2e-6);
  });

  it('TF.js: getConfig() in camelCase and tensors with shape and dataSync(); three training steps move the statistics as Keras does (float64, 1e-13)', () => {
    const tfTensor = (values: number[]) => ({ shape: [values.length], dataSync: () => Float32Array.from(values) });
    const config = { axis: -1, momentum: 0.9, epsilon: 0.002, center: true, scale: true, betaInitializer: { className: 'Zeros', config: {} } };
    const bn = batchNormFromKeras({ config, weights: [tfTensor(gamma), tfTensor(beta), tfTensor(movingMean), tfTensor(movingVariance)] }, { dtype: 'float64' });
    expect(bn.options.momentum).toBe(0.1);
    expect(bn.options.eps).toBe(0.002);
    const mean = movingMean.map(Math.fround);
    const variance = movingVariance.map(Math.fround);
    for (let step = 0; step < 3; step++) {
      const x = randn([4, 2, C], 10 + step, 'float64', step, 1 + step);
      bn.forward(x);
      const values = toTypedArray(x);
      const m = values.length / C;
      for (let c = 0; c < C; c++) {
        let mu = 0;
        for (let i = c; i < values.length; i += C) mu += values[i] / m;
        let sigma2 = 0;
        for (let i = c; i < values.length; i += C) sigma2 += (values[i] - mu) ** 2 / m;
        mean[c] = 0.9 * mean[c] + 0.1 * mu;
        variance[c] = 0.9 * variance[c] + 0.1 * sigma2;
      }
      expect(maxAbsDifference(toTypedArray(bn.runningMean as Tensor), mean)).toBeLessThan(1e-13);
      expect(maxAbsDifference(toTypedArray(bn.runningVar as Tensor), variance)).toBeLessThan(1e-13);
    }
  });

  it('weights keyed by name or path (batch_normalization/gamma:0), in any order', () => {
    const bn = batchNormFromKeras(
      {
        config: pythonConfig,
        weights: {
          'model/batch_normalization/moving_variance:0': movingVariance,
          'model/batch_normalization/gamma:0': gamma,
          'model/batch_normalization/beta:0': beta,
          'model/batch_normalization/moving_mean:0': movingMean,
        },
      },
      { dtype: 'float64' },
    );
    expect(Array.from(toTypedArray(bn.weight as Tensor))).toEqual(gamma);
    expect(Array.from(toTypedArray(bn.runningVar as Tensor))).toEqual(movingVariance);
    expect(bn.numBatchesTracked).toBe(0);
  });

  it('center=False, scale=True: refused unless fillMissingAffine, which creates β = 0 and stays exact (float64, 1e-12)', () => {
    const layer = { config: { ...pythonConfig, center: false }, weights: [gamma, movingMean, movingVariance] };
    const refused = thrownError(() => batchNormFromKeras(layer));
    expect(refused.code).toBe('E_OPTION');
    expect(refused.message).toContain('center=false, scale=true');
    expect(refused.message).toContain('fillMissingAffine');
    const bn = batchNormFromKeras(layer, { fillMissingAffine: true }).eval();
    expect(Array.from(toTypedArray(bn.bias as Tensor))).toEqual([0, 0, 0]);
    const x = randn([5, C], 3, 'float64');
    expect(maxAbsDifference(toTypedArray(bn.forward(x)), kerasEval(x, gamma, [0, 0, 0], movingMean, movingVariance, 1e-3))).toBeLessThan(1e-12);
  });

  it('center=False, scale=False: no affine, two weights', () => {
    const bn = batchNormFromKeras({ config: { ...pythonConfig, center: false, scale: false }, weights: [movingMean, movingVariance] });
    expect(bn.options.affine).toBe(false);
    expect(bn.weight).toBeUndefined();
  });

  it('trainable=False comes back in eval mode (Keras runs a frozen batch norm in inference mode, in fit too); undefined overrides override nothing', () => {
    const frozen = batchNormFromKeras({ config: { ...pythonConfig, trainable: false }, weights: [gamma, beta, movingMean, movingVariance] });
    expect(frozen.mode).toBe('eval');
    const opts: { eps?: number; channelAxis?: number } = {};
    const bn = batchNormFromKeras({ config: pythonConfig, weights: [gamma, beta, movingMean, movingVariance] }, { overrides: { eps: opts.eps, channelAxis: opts.channelAxis } });
    expect(bn.options).toMatchObject({ eps: 1e-3, channelAxis: -1 });
  });

  it('overrides win over the config (tf.keras 2: unbiasedRunningVar true; NCHW axis given positive)', () => {
    const bn = batchNormFromKeras({ config: { ...pythonConfig, axis: 1 }, weights: [gamma, beta, movingMean, movingVariance] }, { overrides: { unbiasedRunningVar: true } });
    expect(bn.options.unbiasedRunningVar).toBe(true);
    expect(bn.options.channelAxis).toBe(1);
  });

  it('refuses what it cannot reproduce, with a NormkitError that says what came and what to do', () => {
    const weights = [gamma, beta, movingMean, movingVariance];
    const cases: [() => unknown, string, string[]][] = [
      [() => batchNormFromKeras({ config: pythonConfig, weights: [gamma, beta] }), 'E_STATE', ['expected 4 arrays (gamma, beta, moving_mean, moving_variance', 'got 2']],
      // a real renorm layer has 7 weights: the refusal comes before the weight count
      [() => batchNormFromKeras({ config: { ...pythonConfig, renorm: true }, weights: [...weights, movingVariance, movingMean, movingVariance] }), 'E_OPTION', ['config.renorm', '@normkit/batch-renorm']],
      [() => batchNormFromKeras({ config: pythonConfig, weights, inputShape: [null, 4, 4, 5] }), 'E_STATE', ['layer.inputShape has 5 channels at axis 3, the weights 3']],
      // the plugin's own value check, named by the Keras weight (it named state.runningVar)
      [() => batchNormFromKeras({ config: pythonConfig, weights: [gamma, beta, movingMean, [1, -1, 1]] }), 'E_STATE', ['keras weights[3] (moving_variance): state.runningVar: expected non-negative values']],
      [() => batchNormFromKeras({ config: { ...pythonConfig, axis: 5 }, weights, inputShape: [null, 4, 4, 3] }), 'E_OPTION', ['expected an axis in [-4, 3] for input rank 4, got 5']],
      [() => batchNormFromKeras({ config: { ...pythonConfig, virtual_batch_size: 8 }, weights }), 'E_OPTION', ['config.virtual_batch_size', '@normkit/ghost-batch-norm']],
      [() => batchNormFromKeras({ config: { ...pythonConfig, axis: [1, 3] }, weights }), 'E_OPTION', ['config.axis', 'one channel axis']],
      [() => batchNormFromKeras({ config: { ...pythonConfig, momentum: 1.5 }, weights }), 'E_OPTION', ['config.momentum', 'in [0, 1]', '1.5']],
      [() => batchNormFromKeras({ config: { ...pythonConfig, epsilon: '1e-3' }, weights }), 'E_OPTION', ['config.epsilon', 'got "1e-3"']],
      [() => batchNormFromKeras({ className: 'LayerNormalization', config: pythonConfig, weights }), 'E_OPTION', ['imports BatchNormalization', 'LayerNormalization']],
      [() => batchNormFromKeras({ config: pythonConfig, weights: [gamma, beta, [0.5, -1], movingVariance] }), 'E_STATE', ['expected one shape for all', 'gamma [3], beta [3], moving_mean [2], moving_variance [3]']],
      [() => batchNormFromKeras({ config: pythonConfig, weights: [gamma, beta, movingMean, [1, NaN, 1]] }), 'E_NONFINITE', ['weights[3] (moving_variance)', 'NaN']],
      [() => batchNormFromKeras({ config: pythonConfig, weights: [gamma, [[1], [2, 3]], movingMean, movingVariance] }), 'E_STATE', ['weights[1] (beta)', 'ragged']],
      [() => batchNormFromKeras({ config: pythonConfig, weights: { gamma, beta, moving_mean: movingMean, variance: movingVariance } }), 'E_STATE', ['unexpected weight "variance"']],
      [() => batchNormFromKeras({ config: pythonConfig, weights: { gamma, beta, moving_mean: movingMean } }), 'E_STATE', ['missing moving_variance']],
      [() => batchNormFromKeras({ config: pythonConfig, weights }, { overrides: { numFeatures: 4 } }), 'E_STATE', ['weights[0] (gamma): expected shape [4] (normkit weight), got [3]']],
    ];
    for (const [call, code, parts] of cases) {
      const error = thrownError(call);
      expect(error.code, error.message).toBe(code);
      for (const part of parts) expect(error.message).toContain(part);
    }
  });
});
