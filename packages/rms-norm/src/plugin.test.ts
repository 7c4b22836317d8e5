import { fromArray, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { layerNorm } from '@normkit/layer-norm';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { MACHINE_EPSILON } from './options.js';
import { rmsNorm } from './plugin.js';

function values(t: Tensor | undefined): number[] {
  return Array.from(toTypedArray(t as Tensor));
}

describe('RMS norm', () => {
  it('computes x / √(mean(x²) + eps) · γ, the closed form, with no bias (1e-15)', () => {
    const rms = rmsNorm.create({ normalizedShape: 3, eps: 1e-6 });
    const x = fromArray([1, 2, 2, -3, 0, 4], [2, 3], 'float64');
    const weight = fromArray([1, 0.5, 2], [3], 'float64');
    const { y, saved } = rms.forward({ x, params: { weight }, state: {}, mode: 'train' });
    const r0 = 1 / Math.sqrt(3 + 1e-6);
    const r1 = 1 / Math.sqrt(25 / 3 + 1e-6);
    const expected = [1 * r0, 2 * r0 * 0.5, 2 * r0 * 2, -3 * r1, 0, 4 * r1 * 2];
    values(y).forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-15));
    expect(Array.from(saved.center)).toEqual([0, 0]);
    expect(Math.abs(saved.invStd[1] - r1)).toBeLessThan(1e-16);
    expect(rms.paramShapes()).toEqual({ weight: [3] });
  });

  it('eps: null (the default) is the input dtype machine epsilon: 2⁻²³ in float32, 2⁻⁵² in float64', () => {
    expect(MACHINE_EPSILON).toEqual({ float32: 1.1920928955078125e-7, float64: 2.220446049250313e-16 });
    const rms = rmsNorm.create({ normalizedShape: 2, elementwiseAffine: false });
    for (const dtype of ['float32', 'float64'] as const) {
      const x = fromArray([3e-4, 4e-4], [1, 2], dtype);
      const { saved } = rms.forward({ x, params: {}, state: {}, mode: 'train' });
      const meanSquare = (Math.fround(3e-4) ** 2 + Math.fround(4e-4) ** 2) / 2;
      const ms = dtype === 'float32' ? meanSquare : (3e-4 ** 2 + 4e-4 ** 2) / 2;
      expect(saved.invStd[0] / (1 / Math.sqrt(ms + MACHINE_EPSILON[dtype])) - 1).toBeLessThan(1e-14);
    }
  });

  it('equals layer norm on rows with zero mean (same eps and weight, bias 0), forward and backward (1e-14)', () => {
    const raw = randn([4, 6], 1);
    for (let r = 0; r < 4; r++) {
      let mean = 0;
      for (let j = 0; j < 6; j++) mean += raw.get(r, j) / 6;
      for (let j = 0; j < 6; j++) raw.set(r, j, raw.get(r, j) - mean);
    }
    const weight = randn([6], 2);
    const dy = randn([4, 6], 3);
    const rms = rmsNorm.create({ normalizedShape: 6, eps: 1e-5 });
    const ln = layerNorm.create({ normalizedShape: 6, bias: false });
    const a = rms.forward({ x: raw, params: { weight }, state: {}, mode: 'train' });
    const b = ln.forward({ x: raw, params: { weight }, state: {}, mode: 'train' });
    values(a.y).forEach((v, i) => expect(Math.abs(v - values(b.y)[i])).toBeLessThan(1e-14));
    // The backward passes differ: layer norm's dx carries the mean term, RMS norm's does not.
    // Their difference is exactly that term, −s·mean(g) per row (g = dy·γ), since x̂ agrees.
    const ga = rms.backward({ dy, params: { weight }, saved: a.saved });
    const gb = ln.backward({ dy, params: { weight }, saved: b.saved });
    for (let r = 0; r < 4; r++) {
      let meanG = 0;
      for (let j = 0; j < 6; j++) meanG += (dy.get(r, j) * weight.get(j)) / 6;
      for (let j = 0; j < 6; j++) expect(Math.abs(ga.dx.get(r, j) - gb.dx.get(r, j) - a.saved.invStd[r] * meanG)).toBeLessThan(1e-13);
    }
    values(ga.grads.weight).forEach((v, i) => expect(Math.abs(v - values(gb.grads.weight)[i])).toBeLessThan(1e-13));
  });

  it('refuses a wrong trailing shape, a bias parameter, eps ≤ 0 and a weight of another dtype', () => {
    const rms = rmsNorm.create({ normalizedShape: [2, 3] });
    const { params } = rms.init('float64');
    expect(errorCode(() => rms.forward({ x: zeros([4, 3, 2], 'float64'), params, state: {}, mode: 'train' }))).toBe('E_SHAPE');
    expect(errorCode(() => rms.forward({ x: zeros([4, 2, 3], 'float64'), params: { ...params, bias: zeros([2, 3], 'float64') } as never, state: {}, mode: 'train' }))).toBe('E_STATE');
    expect(errorCode(() => rmsNorm.create({ normalizedShape: 3, eps: 0 }))).toBe('E_OPTION');
    expect(errorCode(() => rms.forward({ x: zeros([4, 2, 3], 'float32'), params, state: {}, mode: 'train' }))).toBe('E_DTYPE');
  });
});
