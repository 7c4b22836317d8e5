import { tensor } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { checkGradientAt } from './diagnose.js';
import { Mlp } from './model.js';
import type { Variant } from './model.js';
import { Rng } from './random.js';
import { float64Point, hessianVector, lossAndGradient, parameterCount, powerIteration, shiftedPoint, topHessianEigenvalue } from './second-order.js';

const config = { inputs: 6, hidden: 5, depth: 2, classes: 3, seed: 4, dtype: 'float64' as const };
const x = tensor(Float64Array.from({ length: 8 * 6 }, (_, i) => Math.sin(1.3 * i) + 0.2 * Math.cos(0.4 * i)), [8, 6]);
const labels = Uint8Array.from({ length: 8 }, (_, i) => (i * 7) % 3);

function unit(dim: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const v = new Float64Array(dim).map(() => rng.normal());
  const n = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  return v.map((a) => a / n);
}

describe('Hessian–vector products of the whole network through doubleBackward', () => {
  for (const variant of ['none', 'batch-norm', 'layer-norm'] as Variant[]) {
    it(`${variant}: H·v equals central differences of the gradient along v (float64, 1e-6 relative)`, () => {
      const model = new Mlp(variant, config);
      const point = float64Point(model);
      const v = unit(parameterCount(point), 11);
      const hv = hessianVector(model, point, x, labels, v);
      // (∇L(θ + εv) − ∇L(θ − εv)) / 2ε has error O(ε²) ≈ 1e-10 here; rounding ≈ 1e-16/ε.
      const eps = 1e-5;
      const plus = lossAndGradient(model, shiftedPoint(point, eps, v), x, labels).gradient;
      const minus = lossAndGradient(model, shiftedPoint(point, -eps, v), x, labels).gradient;
      let err = 0;
      let size = 0;
      for (let i = 0; i < v.length; i++) {
        err = Math.max(err, Math.abs(hv[i] - (plus[i] - minus[i]) / (2 * eps)));
        size = Math.max(size, Math.abs(hv[i]));
      }
      expect(size).toBeGreaterThan(1e-3);
      expect(err / size).toBeLessThan(1e-6);
    });
  }

  it('is symmetric: uᵀ(Hv) = vᵀ(Hu) (batch norm, 1e-10 relative)', () => {
    const model = new Mlp('batch-norm', config);
    const point = float64Point(model);
    const u = unit(parameterCount(point), 1);
    const v = unit(parameterCount(point), 2);
    const hu = hessianVector(model, point, x, labels, u);
    const hv = hessianVector(model, point, x, labels, v);
    const a = u.reduce((s, ui, i) => s + ui * hv[i], 0);
    const b = v.reduce((s, vi, i) => s + vi * hu[i], 0);
    expect(Math.abs(a - b)).toBeLessThan(1e-10 * Math.max(Math.abs(a), 1));
  });

  it('leaves the network and its running statistics unchanged', () => {
    const model = new Mlp('batch-norm', config);
    const before = JSON.stringify(model.layers.map((l) => [l.params, l.state]));
    topHessianEigenvalue(model, x, labels, { maxIterations: 3, tolerance: 0, seed: 1 });
    expect(JSON.stringify(model.layers.map((l) => [l.params, l.state]))).toBe(before);
  });
});

describe('power iteration', () => {
  it('finds the eigenvalue of largest magnitude of a diagonal operator (closed form)', () => {
    const d = Float64Array.from([0.5, -1, 3, 2.9, 0.1]);
    const r = powerIteration((v) => v.map((vi, i) => d[i] * vi), d.length, { maxIterations: 500, tolerance: 1e-12, seed: 3 });
    expect(Math.abs(r.eigenvalue - 3)).toBeLessThan(1e-6);
  });

  it('a negative dominant eigenvalue comes out negative', () => {
    const d = Float64Array.from([1, -4, 2]);
    const r = powerIteration((v) => v.map((vi, i) => d[i] * vi), d.length, { maxIterations: 200, tolerance: 1e-14, seed: 5 });
    expect(Math.abs(r.eigenvalue + 4)).toBeLessThan(1e-8);
  });
});

describe('the finite-difference gradient check of a training point', () => {
  it('agrees with the analytic directional derivative for every variant (1e-6)', () => {
    for (const variant of ['none', 'batch-norm', 'layer-norm', 'weight-norm', 'layer-norm-no-bias', 'weight-norm-no-init'] as Variant[]) {
      const model = new Mlp(variant, config);
      model.initFromBatch(x);
      const c = checkGradientAt(model, x, labels, 0, 1);
      expect(Math.abs(c.analytic), variant).toBeGreaterThan(1e-4);
      expect(c.relativeError, variant).toBeLessThan(1e-6);
    }
  });
});
