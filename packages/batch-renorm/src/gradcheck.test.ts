import { fromArray, full } from '@normkit/core';
import type { Normalizer, Tensor } from '@normkit/core';
import { checkFullJacobian, checkGradients, formatReport, normalRng, Problem, randomValues } from '@normkit/gradcheck';
import { gradcheckAcrossSeeds, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { batchRenorm } from './plugin.js';

/** Full Jacobians of x, γ and β at one point, compared with backward (Richardson, rtol 1e-8, atol 1e-9). */
function jacobianFailures(options: object, x: Tensor, state: Record<string, Tensor>, seed: number): { failures: number; compared: number } {
  const bound = batchRenorm.create({ numFeatures: x.shape[1], ...options }) as unknown as ConstructorParameters<typeof Problem>[0];
  const params = { weight: randn([x.shape[1]], seed + 1, 'float64', 1, 0.5), bias: randn([x.shape[1]], seed + 2) };
  const problem = new Problem(bound, 'train', x, params, state);
  const r = randomValues(problem.ySize, normalRng(seed + 3));
  const outcomes = checkFullJacobian(problem, r, { tolerance: { rtol: 1e-8, atol: 1e-9 }, keep: 3, richardson: true });
  return {
    failures: outcomes.reduce((a, o) => a + o.tracker.failures + (o.error === undefined ? 0 : 1), 0),
    compared: outcomes.reduce((a, o) => a + o.tracker.compared, 0),
  };
}

function runningState(mean: readonly number[], variance: readonly number[]): Record<string, Tensor> {
  return { runningMean: fromArray(mean, 'float64'), runningVar: fromArray(variance, 'float64'), numBatchesTracked: full([], 'float64', 0) };
}

describe('gradcheck', () => {
  it('batch-renorm passes gradcheck over 5 seeds (rtol 1e-5) and with Richardson at 1e-8, in train and eval, with Σ dx = 0 per channel in train', () => {
    // At gradcheck's point the default schedule is in its warm-up (rmax 1, dmax 0): r = 1, d = 0.
    expect(gradcheckAcrossSeeds(batchRenorm, 5)).toEqual([]);
  });

  it('where r and d are clipped (locally constant, r ≠ 1, d ≠ 0), backward is the exact derivative of forward: full Jacobians agree', () => {
    // Running σ = 10 and 0.1 against batch σ_B ≈ 2: r = 1/rmax and rmax; running means far away: d = ∓dmax.
    const x = randn([4, 2, 3], 11, 'float64', 0, 2);
    const result = jacobianFailures({ rmax: 2, dmax: 0.5 }, x, runningState([40, -40], [100, 0.01]), 20);
    expect(result.compared).toBeGreaterThanOrEqual(24 * 24 + 2 * 24 + 2 * 24);
    expect(result.failures).toBe(0);
    // channels-last, (N, C) rank 2
    const x2 = randn([6, 3], 12, 'float64', 1, 3);
    expect(jacobianFailures({ rmax: 1.5, dmax: 1, channelAxis: -1 }, x2, runningState([300, -300, 300], [1e4, 1e-4, 1e4]), 30).failures).toBe(0);
  });

  it('inside the limits, backward is by design not the derivative of forward (stop-gradient through r and d), so finite differences disagree', () => {
    const x = randn([4, 2, 3], 13);
    const result = jacobianFailures({ rmax: 1e6, dmax: 1e6 }, x, runningState([0.1, -0.1], [1.2, 0.8]), 40);
    expect(result.failures).toBeGreaterThan(0);
  });
});

// The hardened checks (@normkit/gradcheck): besides the gradients and the classic contract,
// float32 values against float64 on the same inputs, inputs as views (offset, permuted and
// negative strides) and out buffers, the declared dtype mixes, the declared state update and
// mode independence. Here at every example shape (variantShapes 'all') over 20 seeds, and once
// at the large shapes, in projection mode. A failure prints the report.
describe('hardened gradcheck', () => {
  for (const plugin of [batchRenorm] as readonly Normalizer[]) {
    it(`${plugin.meta.name}: passes every variant at every example shape over 20 seeds, and at its large shapes`, () => {
      const failed: string[] = [];
      for (let seed = 0; seed < 20; seed++) {
        const report = checkGradients(plugin, { seed, variantShapes: 'all' });
        if (!report.ok) failed.push(formatReport(report));
      }
      const large = checkGradients(plugin, { size: 'large' });
      if (!large.ok) failed.push(formatReport(large));
      expect(failed).toEqual([]);
      expect(large.checks.some((c) => c.size === 'large' && c.variant === 'base' && c.method === 'projection')).toBe(true);
    }, 120_000); // a guard against hangs on a loaded machine, not a speed assertion
  }
});
