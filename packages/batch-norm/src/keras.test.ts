// Keras 3 / TF.js semantics with `unbiasedRunningVar: false`: the running variance moves towards
// the biased batch variance. Checked against a plain float64 reference of Keras's
// BatchNormalization (channels last, momentum m = 0.99 ↔ ours 0.01, epsilon 1e-3):
//   moving_mean ← m·moving_mean + (1 − m)·μ_B,  moving_var ← m·moving_var + (1 − m)·σ²_B (biased).
import { recalibrate, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './layer.js';
import { batchNorm } from './plugin.js';

const C = 3;
const KERAS_MOMENTUM = 0.99;
const EPSILON = 1e-3;

/** Per channel (last axis), the mean and biased variance of x, two-pass in float64. */
function channelMoments(x: Tensor): { mean: number[]; variance: number[] } {
  const v = toTypedArray(x);
  const m = v.length / C;
  const mean = new Array<number>(C).fill(0);
  const variance = new Array<number>(C).fill(0);
  for (let i = 0; i < v.length; i++) mean[i % C] += v[i] / m;
  for (let i = 0; i < v.length; i++) variance[i % C] += (v[i] - mean[i % C]) ** 2 / m;
  return { mean, variance };
}

/** Keras's training output for channels-last x with γ = 1, β = 0. */
function kerasTrainOutput(x: Tensor): number[] {
  const { mean, variance } = channelMoments(x);
  return Array.from(toTypedArray(x), (value, i) => (value - mean[i % C]) / Math.sqrt(variance[i % C] + EPSILON));
}

describe('unbiasedRunningVar: false (Keras 3, TF.js)', () => {
  it('five NHWC training steps: y, moving mean and moving variance equal the Keras reference (1e-13), then eval', () => {
    const bn = new BatchNorm({ numFeatures: C, momentum: 1 - KERAS_MOMENTUM, eps: EPSILON, channelAxis: -1, unbiasedRunningVar: false }, { dtype: 'float64' });
    const movingMean = new Array<number>(C).fill(0);
    const movingVar = new Array<number>(C).fill(1);
    for (let step = 0; step < 5; step++) {
      const x = randn([2, 3, 2, C], 10 + step, 'float64', 0.5 + step, 1 + 0.3 * step);
      const y = Array.from(toTypedArray(bn.forward(x)));
      const expectedY = kerasTrainOutput(x);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - expectedY[i])).toBeLessThan(1e-13);
      const { mean, variance } = channelMoments(x);
      for (let c = 0; c < C; c++) {
        movingMean[c] = KERAS_MOMENTUM * movingMean[c] + (1 - KERAS_MOMENTUM) * mean[c];
        movingVar[c] = KERAS_MOMENTUM * movingVar[c] + (1 - KERAS_MOMENTUM) * variance[c];
      }
      const runningMean = Array.from(toTypedArray(bn.runningMean as Tensor));
      const runningVar = Array.from(toTypedArray(bn.runningVar as Tensor));
      for (let c = 0; c < C; c++) {
        expect(Math.abs(runningMean[c] - movingMean[c])).toBeLessThan(1e-13);
        expect(Math.abs(runningVar[c] - movingVar[c])).toBeLessThan(1e-13);
      }
    }
    // The default (PyTorch) moves towards σ²·m/(m − 1) instead: the two differ after one step.
    const pytorch = new BatchNorm({ numFeatures: C, momentum: 0.01, eps: EPSILON, channelAxis: -1 }, { dtype: 'float64' });
    const keras = new BatchNorm({ numFeatures: C, momentum: 0.01, eps: EPSILON, channelAxis: -1, unbiasedRunningVar: false }, { dtype: 'float64' });
    const x = randn([2, 3, 2, C], 20, 'float64');
    pytorch.forward(x);
    keras.forward(x);
    const m = 2 * 3 * 2;
    const { variance } = channelMoments(x);
    const unbiasedStep = Array.from(toTypedArray(pytorch.runningVar as Tensor));
    const biasedStep = Array.from(toTypedArray(keras.runningVar as Tensor));
    for (let c = 0; c < C; c++) {
      expect(Math.abs(unbiasedStep[c] - (0.99 + (0.01 * variance[c] * m) / (m - 1)))).toBeLessThan(1e-15);
      expect(Math.abs(biasedStep[c] - (0.99 + 0.01 * variance[c]))).toBeLessThan(1e-15);
    }
    // Eval normalizes with the moving statistics, as Keras's inference does.
    bn.eval();
    const z = randn([1, 2, 2, C], 30, 'float64');
    const yEval = Array.from(toTypedArray(bn.forward(z)));
    Array.from(toTypedArray(z)).forEach((value, i) => {
      expect(Math.abs(yEval[i] - (value - movingMean[i % C]) / Math.sqrt(movingVar[i % C] + EPSILON))).toBeLessThan(1e-13);
    });
  });

  it('the same in float32 on the default path (running statistics within 1e-6 of the float64 reference)', () => {
    const bn = new BatchNorm({ numFeatures: C, momentum: 0.01, eps: EPSILON, channelAxis: -1, unbiasedRunningVar: false });
    const x32 = randn([4, 5, 5, C], 40, 'float32', 0.3, 2);
    bn.forward(x32);
    const { mean, variance } = channelMoments(x32);
    const runningMean = Array.from(toTypedArray(bn.runningMean as Tensor));
    const runningVar = Array.from(toTypedArray(bn.runningVar as Tensor));
    // float32 state: one rounding of values of magnitude ≤ 1.1 (2⁻²⁴ ≈ 6e-8 relative), far below 1e-6.
    for (let c = 0; c < C; c++) {
      expect(Math.abs(runningMean[c] - 0.01 * mean[c])).toBeLessThan(1e-6);
      expect(Math.abs(runningVar[c] - (0.99 + 0.01 * variance[c]))).toBeLessThan(1e-6);
    }
  });

  it('declares the biased update (statistics: variance) and batchMoments says runningVariance biased; recalibrate writes the biased population variance', () => {
    const bound = batchNorm.create({ numFeatures: C, channelAxis: -1, unbiasedRunningVar: false });
    expect(bound.stateUpdate?.([4, C])).toMatchObject({ statistics: { runningMean: 'mean', runningVar: 'variance' } });
    expect(batchNorm.create({ numFeatures: C }).stateUpdate?.([4, C])).toMatchObject({ statistics: { runningVar: 'unbiased-variance' } });
    const batches = [randn([6, C], 50, 'float64'), randn([6, C], 51, 'float64')];
    expect(bound.batchMoments?.(batches[0]).runningVariance).toBe('biased');
    expect(batchNorm.create({ numFeatures: C }).batchMoments?.(batches[0]).runningVariance).toBeUndefined();
    const layer = new BatchNorm({ numFeatures: C, channelAxis: -1, unbiasedRunningVar: false }, { dtype: 'float64' });
    const [written] = recalibrate([layer], batches.map((b) => [b]));
    // Equal batches: the population is all 12 values; its biased variance.
    const all = [...toTypedArray(batches[0]), ...toTypedArray(batches[1])];
    for (let c = 0; c < C; c++) {
      const values = all.filter((_, i) => i % C === c);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const biased = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      expect(Math.abs(written.mean[c] - mean)).toBeLessThan(1e-14);
      expect(Math.abs(written.variance[c] - biased)).toBeLessThan(1e-14);
    }
  });

  it('refuses a non-boolean unbiasedRunningVar (E_OPTION), naming the option', () => {
    expect(() => batchNorm.create({ numFeatures: C, unbiasedRunningVar: 'no' as never })).toThrow(/unbiasedRunningVar/);
  });
});
