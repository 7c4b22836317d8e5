import { describe, expect, it } from 'vitest';
import { batchNormEquivalentWeight, checkReparameterization, whitenedBatch, zeroMeanBatch } from './reparam.js';

describe('batch norm as a reparameterization of the weight (the notes\' "Deeper Intuition")', () => {
  it('BN(x·W) with β = 0 equals x·Ŵ, Ŵ_j = γ_j·W_j/√(W_jᵀ S W_j + eps), S the biased covariance: 1e-10 in float64', () => {
    for (const [n, inF, outF, eps, seed] of [
      [64, 12, 7, 1e-5, 7],
      [16, 5, 9, 1e-3, 1],
      [200, 30, 4, 1e-5, 99],
    ] as const) {
      const r = checkReparameterization(n, inF, outF, eps, seed);
      expect(r.batchNormMaxAbs).toBeGreaterThan(0.5);
      expect(r.batchNormMaxAbsError).toBeLessThan(1e-10);
    }
  });

  it('with S = I (a whitened batch) it is weight normalization: WeightNormLinear with v = Wᵀ, g = γ, the same eps', () => {
    const r = checkReparameterization(64, 12, 7, 1e-5, 3);
    expect(r.weightNormMaxAbs).toBeGreaterThan(0.5);
    expect(r.weightNormMaxAbsError).toBeLessThan(1e-10);
  });

  it('the helpers: zero-mean columns, identity covariance, and Ŵ scales each column of W', () => {
    const n = 40;
    const inF = 6;
    const x = zeroMeanBatch(n, inF, 5);
    for (let a = 0; a < inF; a++) {
      let m = 0;
      for (let r = 0; r < n; r++) m += x[r * inF + a];
      expect(Math.abs(m / n)).toBeLessThan(1e-14);
    }
    const white = whitenedBatch(n, inF, 5);
    for (let a = 0; a < inF; a++) {
      for (let b = 0; b < inF; b++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += (white[r * inF + a] * white[r * inF + b]) / n;
        expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-12);
      }
    }
    // S = I and eps = 0: Ŵ_j = γ_j·W_j/‖W_j‖.
    const w = Float64Array.from({ length: inF * 2 }, (_, i) => (i % 5) - 1.5);
    const hat = batchNormEquivalentWeight(white, n, w, inF, 2, Float64Array.from([2, 3]), 0);
    for (let j = 0; j < 2; j++) {
      let norm = 0;
      for (let a = 0; a < inF; a++) norm += w[a * 2 + j] ** 2;
      for (let a = 0; a < inF; a++) expect(hat[a * 2 + j]).toBeCloseTo(([2, 3][j] * w[a * 2 + j]) / Math.sqrt(norm), 12);
    }
  });
});
