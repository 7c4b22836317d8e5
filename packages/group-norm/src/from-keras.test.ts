// Importing a trained Keras GroupNormalization. The reference is Keras's computation in float64,
// channels last: per sample and group of C/G channels, over every position and those channels,
// y = γ_c (x − E[x]) / √(Var[x] + ε) + β_c with the biased variance. float64 layers are compared
// at 1e-12 (values of order 1, a few roundings per element).
import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { maxAbsDifference, randn, thrownError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { groupNormFromKeras } from './from-keras.js';

/** Keras's channels-last output for x of shape (N, …, C). */
function kerasGroupNorm(x: Tensor, groups: number, gamma: number[], beta: number[], eps: number): number[] {
  const values = toTypedArray(x);
  const C = gamma.length;
  const N = x.shape[0];
  const perSample = values.length / N;
  const width = C / groups;
  const out = new Array<number>(values.length);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const members: number[] = [];
      for (let i = 0; i < perSample; i++) if (Math.floor((i % C) / width) === g) members.push(n * perSample + i);
      const mean = members.reduce((sum, i) => sum + values[i], 0) / members.length;
      const variance = members.reduce((sum, i) => sum + (values[i] - mean) ** 2, 0) / members.length;
      for (const i of members) out[i] = (gamma[i % C] * (values[i] - mean)) / Math.sqrt(variance + eps) + beta[i % C];
    }
  }
  return out;
}

const gamma = [1.5, 0.5, -1, 2, 0.25, 1];
const beta = [0.1, -0.2, 0.3, 0, 1, -1];

describe('groupNormFromKeras', () => {
  it('groups 3 on NHWC, epsilon 1e-3: equals Keras (float64, 1e-12)', () => {
    const gn = groupNormFromKeras({ className: 'GroupNormalization', config: { groups: 3, axis: -1, epsilon: 0.001, center: true, scale: true }, weights: [gamma, beta] }, { dtype: 'float64' });
    expect(gn.options).toEqual({ numGroups: 3, numChannels: 6, eps: 1e-3, affine: true, channelAxis: -1 });
    const x = randn([2, 3, 2, 6], 1, 'float64', 0.5, 1.5);
    expect(maxAbsDifference(toTypedArray(gn.forward(x)), kerasGroupNorm(x, 3, gamma, beta, 1e-3))).toBeLessThan(1e-12);
  });

  it('groups -1 is instance norm (one group per channel); the last axis given non-negative with the input shape', () => {
    const gn = groupNormFromKeras({ config: { groups: -1, axis: 3 }, weights: { gamma, beta }, inputShape: [null, 4, 4, 6] }, { dtype: 'float64' });
    expect(gn.options).toMatchObject({ numGroups: 6, numChannels: 6, channelAxis: -1 });
    const x = randn([2, 4, 4, 6], 2, 'float64');
    expect(maxAbsDifference(toTypedArray(gn.forward(x)), kerasGroupNorm(x, 6, gamma, beta, 1e-3))).toBeLessThan(1e-12);
  });

  it('axis -2 on a rank-3 input is channels-first', () => {
    const gn = groupNormFromKeras({ config: { groups: 3, axis: -2 }, weights: [gamma, beta], inputShape: [null, 6, 5] });
    expect(gn.options.channelAxis).toBe(1);
  });

  it('no weights (center=False, scale=False): the channels come from the input shape', () => {
    const gn = groupNormFromKeras({ config: { groups: 2, center: false, scale: false }, weights: [], inputShape: [null, 5, 6] });
    expect(gn.options).toMatchObject({ numGroups: 2, numChannels: 6, affine: false });
    expect(thrownError(() => groupNormFromKeras({ config: { groups: 2, center: false, scale: false }, weights: [] })).message).toContain('pass layer.inputShape');
  });

  it('refuses what it cannot reproduce, saying what came', () => {
    const cases: [() => unknown, string, string[]][] = [
      [() => groupNormFromKeras({ config: { groups: 4 }, weights: [gamma, beta] }), 'E_OPTION', ['numGroups', '6']],
      [() => groupNormFromKeras({ config: { groups: 0 }, weights: [gamma, beta] }), 'E_OPTION', ['config.groups', 'got 0']],
      [() => groupNormFromKeras({ config: { groups: 3, axis: 2 }, weights: [gamma, beta], inputShape: [null, 4, 6, 5] }), 'E_OPTION', ['axis 1 or last', 'got 2']],
      [() => groupNormFromKeras({ config: { groups: 3, scale: false }, weights: [beta] }), 'E_OPTION', ['center=true, scale=false', 'fillMissingAffine']],
      [() => groupNormFromKeras({ config: { groups: 3 }, weights: [gamma] }), 'E_STATE', ['expected 2 arrays (gamma, beta', 'got 1']],
      // -2 is axis 1 of a rank-3 input and of no other rank: the rank is needed
      [() => groupNormFromKeras({ config: { groups: 3, axis: -2 }, weights: [gamma, beta] }), 'E_OPTION', ['-2 is axis 1 or the last one only for some input ranks', 'pass layer.inputShape']],
      [() => groupNormFromKeras({ config: { groups: 3 }, weights: [gamma, beta], inputShape: [null, 4, 4, 5] }), 'E_STATE', ['layer.inputShape has 5 channels, the weights 6']],
    ];
    for (const [call, code, parts] of cases) {
      const error = thrownError(call);
      expect(error.code, error.message).toBe(code);
      for (const part of parts) expect(error.message).toContain(part);
    }
  });
});
