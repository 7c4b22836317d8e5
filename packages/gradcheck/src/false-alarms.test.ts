// Regressions for three false alarms found by the property tests of packages/reliability,
// reproduced on this package's own fixtures. Each case is pinned twice: the raw quantities
// show that the old rule failed (so the regression is real), and the check now passes. Next
// to each, the planted bug that the relaxed rule must still catch.
import { describe, expect, it } from 'vitest';
import { checkGradients } from './check.js';
import { INVARIANT_RTOL, LINEARITY_RTOL, checkInvariant, checkLinearity } from './contract-checks.js';
import { RefinedDerivative, centralDifference, relativeStep } from './finite-difference.js';
import type { DifferencePath } from './finite-difference.js';
import { Problem } from './problem.js';
import type { AnyNormalizer } from './problem.js';
import { normalRng, randomNormalTensor, randomValues } from './random.js';
import { ErrorTracker } from './tolerance.js';
import { batchNorm, makeBatchNorm } from '../test/fixtures/batch-norm.js';
import { layerNorm, makeLayerNorm } from '../test/fixtures/layer-norm.js';
import { makeWeightNorm, weightNorm } from '../test/fixtures/weight-norm.js';

function problemOf(plugin: unknown, input: object, shape: number[], seed: number): Problem {
  const bound = (plugin as AnyNormalizer).create(input);
  const init = bound.init('float64');
  return new Problem(bound, 'train', randomNormalTensor(shape, seed), init.params as never, init.state as never);
}

const maxAbs = (values: ArrayLike<number>): number => Array.from(values).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('false alarm 6: linearity when a gradient is zero in exact arithmetic', () => {
  // Weight norm with one element per row: w = g·v/|v| = ±g, so dv ≡ 0, but backward computes
  // it as (g/‖v‖)·dw − (g·dg/‖v‖²)·v, two equal terms whose difference is rounding noise.
  it('the noise broke the old per-tensor bound 1e-9·max|dv|', () => {
    const problem = problemOf(weightNorm, { outFeatures: 3 }, [3, 1], 1);
    const r = randomValues(3, normalRng(101));
    const base = problem.vjp(r)[0];
    const scaled = problem.vjp(r.map((v) => 2.5 * v))[0];
    const scale = Math.max(maxAbs(base), maxAbs(scaled));
    expect(scale).toBeGreaterThan(0); // not exactly zero…
    expect(scale).toBeLessThan(1e-14); // …but rounding noise
    const worst = Math.max(...Array.from(base, (b, j) => Math.abs(scaled[j] - 2.5 * b)));
    expect(worst).toBeGreaterThan(LINEARITY_RTOL * scale); // the old rule: a failure
    expect(checkLinearity(problem, r).status).toBe('pass');
  });

  it('passes the whole check at one element per row, over 50 seeds', () => {
    for (let seed = 0; seed < 50; seed++) {
      const report = checkGradients(weightNorm, { options: { outFeatures: 3 }, shapes: [[3, 1]], seed });
      expect(report.contracts.filter((c) => !c.ok).map((c) => `seed ${seed}: ${c.message}`)).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });
});

describe('false alarm 7: finite differences too coarse for a small-norm slice', () => {
  // Seed 441 draws a row of v with ‖v‖ ≈ 0.01: the curvature scale of w = g·v/‖v‖ is then
  // ≪ 1 and the step ∛ε·max(1, |v|) leaves a truncation error above the tolerance.
  const config = { options: { outFeatures: 40 }, shapes: [[40, 2]], seed: 441 };

  it('passes once the failing values are re-checked with Richardson and smaller steps', () => {
    const report = checkGradients(weightNorm, config);
    expect(report.ok).toBe(true);
    // These values were out of tolerance at the default step: the old rule's failure.
    const x = report.checks.find((c) => c.tensor === 'x')!;
    expect(x.message).toMatch(/^\d+ values within tolerance \([1-9]\d* of them only after refining the finite difference\)/);
  });

  it('passes the same point with projections only (refined gradient subset and projections)', () => {
    expect(checkGradients(weightNorm, { ...config, fullJacobianMaxSize: 0, subsetSize: 80 }).ok).toBe(true);
  });

  it('a wrong backward at the same point is still caught, after refinement', () => {
    const report = checkGradients(makeWeightNorm(true), config);
    expect(report.checks.find((c) => c.tensor === 'x')!.ok).toBe(false);
  });

  // f(x) = σ·sin(x/σ) varies on the scale σ = 1e-3: the central difference at h = ∛ε is
  // off by h²/(6σ²) ≈ 6e-6 relative, the refined estimates by far less.
  const sigma = 1e-3;
  const x0 = 0.3e-3;
  const path: DifferencePath = { evaluate: (t) => Float64Array.of(sigma * Math.sin((x0 + t) / sigma)), displacement: (t) => x0 + t - x0 };
  const exact = Math.cos(x0 / sigma);

  it('refined estimates remove the truncation error of a small curvature scale', () => {
    const h = relativeStep(x0);
    const coarse = Math.abs(centralDifference(path, h)[0] - exact);
    expect(coarse).toBeGreaterThan(1e-6);
    const refined = new RefinedDerivative(path, h, false);
    for (let k = 0; k < refined.ladder.length; k++) expect(Math.abs(refined.estimate(k)[0] - exact)).toBeLessThan(coarse / 10);
  });

  it('a failure counts only when it persists under refinement', () => {
    const h = relativeStep(x0);
    const numeric = centralDifference(path, h)[0];
    const tracker = new ErrorTracker({ rtol: 1e-6, atol: 1e-9 }, 3);
    expect(tracker.add(exact, numeric, 1, 'gradient', () => [0])).toBe(false); // the default step alone fails
    const refined = new RefinedDerivative(path, h, false, Float64Array.of(numeric));
    expect(tracker.addRefined(exact, numeric, 1, () => refined.values((e) => e[0]), 'gradient', () => [1])).toBe(true);
    expect(tracker.refined).toBe(1);
    // A wrong analytic value (off by 1e-3) agrees with no estimate; the closest one is reported.
    expect(tracker.addRefined(exact * (1 + 1e-3), numeric, 1, () => refined.values((e) => e[0]), 'gradient', () => [2])).toBe(false);
    expect(tracker.failures).toBe(2);
    expect(tracker.worst()[0].index).toEqual([2]);
    expect(tracker.worst()[0].relErr).toBeGreaterThan(9e-4);
  });

  it('refinement draws no forward call when the default step passes', () => {
    const tracker = new ErrorTracker({ rtol: 1e-5, atol: 1e-6 }, 3);
    let drawn = false;
    const never = function* (): Generator<number> {
      drawn = true;
      yield 0;
    };
    expect(tracker.addRefined(1, 1 + 1e-9, 1, never, 'gradient', () => [0])).toBe(true);
    expect(drawn).toBe(false);
    expect(tracker.refined).toBe(0);
  });
});

describe('false alarm 8: zero-sum invariant with 2 values per group', () => {
  // With 2 values per group, x̂ = ±σ/√(σ² + eps) and dx = (invStd/2)·(g₁ − g₂)·eps/(σ² + eps):
  // zero up to eps/σ². With a small eps, Σ|dx| is ~1e-10 while each dx carries the rounding of
  // terms of size |dy·γ·invStd| ≈ 1e-16, so the old bound 1e-8·Σ|dx| is below the rounding.
  const cases: [string, unknown, object, number[]][] = [
    ['batch norm, 2 samples', batchNorm, { numFeatures: 3, eps: 1e-10 }, [2, 3]],
    ['layer norm, 2 features', layerNorm, { features: 2, eps: 1e-10 }, [3, 2]],
  ];

  it.each(cases)('%s: the noise broke the old bound INVARIANT_RTOL·Σ|dx|', (_name, plugin, options, shape) => {
    let oldFailures = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const problem = problemOf(plugin, options, shape, seed);
      const r = randomValues(problem.ySize, normalRng(seed + 100));
      const dx = problem.vjp(r)[0];
      const groups = shape[0] === 2 ? shape[1] : shape[0];
      const member = (g: number, i: number): number => (shape[0] === 2 ? i * shape[1] + g : g * 2 + i);
      for (let g = 0; g < groups; g++) {
        const sum = dx[member(g, 0)] + dx[member(g, 1)];
        const abs = Math.abs(dx[member(g, 0)]) + Math.abs(dx[member(g, 1)]);
        if (!(Math.abs(sum) <= INVARIANT_RTOL * abs)) oldFailures++;
      }
      const axes = shape[0] === 2 ? [0] : [1];
      expect(checkInvariant(problem, r, { kind: 'zero-sum', reduceAxes: axes }).status).toBe('pass');
    }
    expect(oldFailures).toBeGreaterThan(0);
  });

  it.each(cases)('%s: passes the whole check over 30 seeds', (_name, plugin, options, shape) => {
    for (let seed = 0; seed < 30; seed++) {
      const report = checkGradients(plugin as typeof batchNorm, { options: options as never, shapes: [shape], seed });
      expect(report.contracts.filter((c) => !c.ok).map((c) => `seed ${seed}: ${c.message}`)).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it('still catches the missing mean term with 2 values per group, where the floor matters most', () => {
    for (const [make, options, shape] of [
      [makeBatchNorm, { numFeatures: 3, eps: 1e-10 }, [2, 3]],
      [makeLayerNorm, { features: 2, eps: 1e-10 }, [3, 2]],
    ] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const report = checkGradients(make('missing-mean-term') as typeof batchNorm, { options: options as never, shapes: [shape as unknown as number[]], seed });
        expect(report.contracts.some((c) => c.name === 'invariant' && !c.ok)).toBe(true);
      }
    }
  });

  it('still catches weight norm without its projection term at one element per row', () => {
    for (let seed = 0; seed < 20; seed++) {
      const report = checkGradients(makeWeightNorm(true), { options: { outFeatures: 3 }, shapes: [[3, 1]], seed });
      expect(report.contracts.some((c) => c.name === 'invariant' && !c.ok && c.message.startsWith('orthogonal-to-input'))).toBe(true);
    }
  });
});
