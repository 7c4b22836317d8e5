import { fromArray, isNormkitError, tensor, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { instanceNorm } from '@normkit/instance-norm';
import { layerNorm } from '@normkit/layer-norm';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { groupNorm } from './plugin.js';

/** max |a − b| over two tensors of one shape, read row-major. */
function maxDiff(a: Tensor, b: Tensor): number {
  const x = toTypedArray(a);
  const y = toTypedArray(b);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** A closed-form float64 group norm of (N, C, S) data: the definition, written out. */
function reference(x: Float64Array, N: number, C: number, S: number, G: number, gamma: number[], beta: number[], eps: number): Float64Array {
  const y = new Float64Array(x.length);
  const L = C / G;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      let sum = 0;
      for (let c = g * L; c < (g + 1) * L; c++) for (let s = 0; s < S; s++) sum += x[(n * C + c) * S + s];
      const mean = sum / (L * S);
      let sq = 0;
      for (let c = g * L; c < (g + 1) * L; c++) for (let s = 0; s < S; s++) sq += (x[(n * C + c) * S + s] - mean) ** 2;
      const inv = 1 / Math.sqrt(sq / (L * S) + eps);
      for (let c = g * L; c < (g + 1) * L; c++) for (let s = 0; s < S; s++) y[(n * C + c) * S + s] = (x[(n * C + c) * S + s] - mean) * inv * gamma[c] + beta[c];
    }
  }
  return y;
}

describe('group norm forward', () => {
  it('matches the definition written out in float64 (1e-13) with a per-channel affine', () => {
    const gn = groupNorm.create({ numGroups: 3, numChannels: 6 });
    const x = randn([2, 6, 5], 1);
    const gamma = [0.5, 1, 1.5, 2, -1, 0.25];
    const beta = [0, 0.1, -0.2, 0.3, 1, -1];
    const params = { weight: fromArray(gamma, [6], 'float64'), bias: fromArray(beta, [6], 'float64') };
    const { y } = gn.forward({ x, params, state: {}, mode: 'train' });
    const expected = reference(x.data as Float64Array, 2, 6, 5, 3, gamma, beta, 1e-5);
    expect(maxDiff(y, tensor(expected, [2, 6, 5]))).toBeLessThan(1e-13);
  });

  it('numGroups = numChannels equals instance norm with affine (1e-14)', () => {
    const x = randn([3, 4, 2, 3], 2);
    const gn = groupNorm.create({ numGroups: 4, numChannels: 4 });
    const inorm = instanceNorm.create({ numFeatures: 4, affine: true });
    const params = { weight: randn([4], 3), bias: randn([4], 4) };
    const a = gn.forward({ x, params, state: {}, mode: 'train' }).y;
    const b = inorm.forward({ x, params, state: {}, mode: 'train' }).y;
    expect(maxDiff(a, b)).toBeLessThan(1e-14);
  });

  it('numGroups = 1 equals layer norm over (C, H, W) followed by a per-channel affine (1e-14)', () => {
    const x = randn([2, 3, 2, 2], 5);
    const gamma = [2, -0.5, 1.25];
    const beta = [0.1, 0.2, -0.3];
    const gn = groupNorm.create({ numGroups: 1, numChannels: 3 });
    const a = gn.forward({ x, params: { weight: fromArray(gamma, [3], 'float64'), bias: fromArray(beta, [3], 'float64') }, state: {}, mode: 'train' }).y;
    const ln = layerNorm.create({ normalizedShape: [3, 2, 2], elementwiseAffine: false });
    const b = ln.forward({ x, params: {}, state: {}, mode: 'train' }).y;
    for (let i = 0; i < b.data.length; i++) b.data[i] = b.data[i] * gamma[Math.floor(i / 4) % 3] + beta[Math.floor(i / 4) % 3];
    expect(maxDiff(a, b)).toBeLessThan(1e-14);
  });

  it('channels-last (N, H, W, C) equals channels-first on the same values (1e-14), forward and backward', () => {
    const first = randn([2, 4, 3, 5], 6);
    const last = first.transpose(0, 2, 3, 1); // a (2, 3, 5, 4) view of the same values
    const dyFirst = randn([2, 4, 3, 5], 7);
    const params = { weight: randn([4], 8), bias: randn([4], 9) };
    const a = groupNorm.create({ numGroups: 2, numChannels: 4 });
    const b = groupNorm.create({ numGroups: 2, numChannels: 4, channelAxis: -1 });
    const fa = a.forward({ x: first, params, state: {}, mode: 'train' });
    const fb = b.forward({ x: last, params, state: {}, mode: 'train' });
    expect(maxDiff(fa.y.transpose(0, 2, 3, 1), fb.y)).toBeLessThan(1e-14);
    const ba = a.backward({ dy: dyFirst, params, saved: fa.saved });
    const bb = b.backward({ dy: dyFirst.transpose(0, 2, 3, 1), params, saved: fb.saved });
    expect(maxDiff(ba.dx.transpose(0, 2, 3, 1), bb.dx)).toBeLessThan(1e-14);
    expect(maxDiff(ba.grads.weight as Tensor, bb.grads.weight as Tensor)).toBeLessThan(1e-13);
    expect(maxDiff(ba.grads.bias as Tensor, bb.grads.bias as Tensor)).toBeLessThan(1e-13);
  });

  it('keeps per-(sample, group) statistics in saved, row-major over (N, G)', () => {
    const x = fromArray([1, 2, 3, 4, 10, 20, 30, 40], [2, 4], 'float64');
    const gn = groupNorm.create({ numGroups: 2, numChannels: 4, affine: false });
    const { saved } = gn.forward({ x, params: {}, state: {}, mode: 'train' });
    expect(Array.from(saved.center)).toEqual([1.5, 3.5, 15, 35]);
    expect(saved.invStd[0]).toBeCloseTo(1 / Math.sqrt(0.25 + 1e-5), 12);
  });
});

describe('group norm errors', () => {
  it('refuses numChannels % numGroups ≠ 0 at creation with E_OPTION naming both', () => {
    let caught: unknown;
    try {
      groupNorm.create({ numGroups: 4, numChannels: 6 });
    } catch (e) {
      caught = e;
    }
    expect(isNormkitError(caught, 'E_OPTION')).toBe(true);
    expect((caught as Error).message).toContain('numChannels 6');
    expect((caught as Error).message).toContain('got 4');
  });

  it("refuses numGroups -1 (Keras's groups=-1) with a hint: numGroups equal to numChannels", () => {
    let caught: unknown;
    try {
      groupNorm.create({ numGroups: -1, numChannels: 6 });
    } catch (e) {
      caught = e;
    }
    expect(isNormkitError(caught, 'E_OPTION')).toBe(true);
    expect((caught as Error).message).toBe(
      "group-norm options.numGroups: expected an integer ≥ 1, got -1 (for Keras's groups=-1, one group per channel, pass numGroups equal to numChannels)",
    );
    expect(errorCode(() => groupNorm.create({ numGroups: -2, numChannels: 6 }))).toBe('E_OPTION');
  });

  it('refuses a wrong channel count, a rank-1 input, channelAxis 0 and a degenerate group', () => {
    const gn = groupNorm.create({ numGroups: 2, numChannels: 4 });
    const params = gn.init('float64').params;
    expect(errorCode(() => gn.forward({ x: zeros([2, 3, 5], 'float64'), params, state: {}, mode: 'train' }))).toBe('E_SHAPE');
    expect(errorCode(() => gn.forward({ x: zeros([4], 'float64'), params, state: {}, mode: 'train' }))).toBe('E_SHAPE');
    expect(errorCode(() => groupNorm.create({ numGroups: 2, numChannels: 4, channelAxis: 0 }))).toBe('E_OPTION');
    // PyTorch's check: one value per group over the whole input (N × C/G × spatial = 1).
    const perChannel = groupNorm.create({ numGroups: 4, numChannels: 4 });
    expect(errorCode(() => perChannel.forward({ x: zeros([1, 4], 'float64'), params: perChannel.init('float64').params, state: {}, mode: 'train' }))).toBe('E_DEGENERATE');
  });

  it.each(['float64', 'float32'] as const)('one value per group in a batch of several, as PyTorch: y = β, dx = 0, dγ = 0, dβ = Σ dy (%s, exact)', (dtype) => {
    // x̂ = x − x = 0 exactly for a group of one value, so every result below is exact in
    // either dtype (the sums of dy are of small integers and halves).
    const gn = groupNorm.create({ numGroups: 4, numChannels: 4 });
    const { params } = gn.init(dtype);
    params.weight!.data.set([2, 3, 4, 5]);
    params.bias!.data.set([0.5, -1, 2, 3]);
    const x = fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4], dtype);
    const dy = fromArray([1, -2, 3, 4, 0.5, 6, 7, 8, 9, 1, 2, 3], [3, 4], dtype);
    const { y, saved } = gn.forward({ x, params, state: {}, mode: 'train' });
    expect(Array.from(y.data)).toEqual([0.5, -1, 2, 3, 0.5, -1, 2, 3, 0.5, -1, 2, 3]);
    const { dx, grads } = gn.backward({ dy, params, saved });
    expect(Array.from(dx.data)).toEqual(new Array(12).fill(0));
    expect(Array.from(grads.weight!.data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(grads.bias!.data)).toEqual([10.5, 5, 12, 15]);
    // S = ⟨ddx, dx⟩ + ⟨dgrads.bias, dβ⟩: dx ≡ 0, dβ = Σ_n dy, so ∂S/∂dy = dgrads.bias on every row and ∂S/∂x = 0.
    const second = gn.doubleBackward!({ dy, params, saved, ddx: dy, dgrads: { bias: fromArray([1, 2, 3, 4], [4], dtype) } });
    expect(Array.from(second.dx.data)).toEqual(new Array(12).fill(0));
    expect(Array.from(second.ddy.data)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('refuses float32 parameters with a float64 input (E_DTYPE) and changes nothing', () => {
    const gn = groupNorm.create({ numGroups: 1, numChannels: 2 });
    const params = gn.init('float32').params;
    const before = Array.from(toTypedArray(params.weight as Tensor));
    expect(errorCode(() => gn.forward({ x: randn([2, 2, 3], 1), params, state: {}, mode: 'train' }))).toBe('E_DTYPE');
    expect(Array.from(toTypedArray(params.weight as Tensor))).toEqual(before);
  });
});
