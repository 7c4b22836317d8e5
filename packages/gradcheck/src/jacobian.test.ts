import { describe, expect, it } from 'vitest';
import { randomNormalTensor } from './random.js';
import { Problem } from './problem.js';
import type { AnyNormalizer } from './problem.js';
import { analyticJacobians, numericJacobian } from './jacobian.js';
import { numericProjection } from './projection.js';
import { layerNorm } from '../test/fixtures/layer-norm.js';
import { weightNorm } from '../test/fixtures/weight-norm.js';

function layerNormProblem(): Problem {
  const bound = (layerNorm as unknown as AnyNormalizer).create({ features: 4 });
  const init = bound.init('float64');
  return new Problem(bound, 'train', randomNormalTensor([3, 4], 1), init.params as never, {});
}

describe('Jacobians', () => {
  it('numeric and analytic Jacobians of layer norm agree entry by entry', () => {
    const problem = layerNormProblem();
    const analytic = analyticJacobians(problem);
    problem.slots.forEach((s, k) => {
      const numeric = numericJacobian(problem, k);
      expect(numeric.length).toBe(12 * s.values.length);
      for (let i = 0; i < numeric.length; i++) expect(Math.abs(numeric[i] - analytic[k][i])).toBeLessThan(1e-8);
    });
  });

  it('the Jacobian of layer norm has the null space of shifts: J·1 = 0 per row group', () => {
    const problem = layerNormProblem();
    const j = analyticJacobians(problem)[0];
    for (let i = 0; i < 12; i++) {
      const row = Math.floor(i / 4);
      let sum = 0;
      for (let c = 0; c < 4; c++) sum += j[i * 12 + row * 4 + c];
      expect(Math.abs(sum)).toBeLessThan(1e-12);
    }
  });

  it('a numeric projection uᵀJv matches the analytic one', () => {
    const bound = (weightNorm as unknown as AnyNormalizer).create({ outFeatures: 3 });
    const init = bound.init('float64');
    const problem = new Problem(bound, 'train', randomNormalTensor([3, 5], 2), init.params as never, {});
    const u = randomNormalTensor([15], 3).data as Float64Array;
    const v = randomNormalTensor([15], 4).data as Float64Array;
    const analytic = problem.vjp(u)[0].reduce((s, g, j) => s + g * v[j], 0);
    for (const richardson of [false, true]) {
      const { value } = numericProjection(problem, 0, u, v, richardson);
      expect(Math.abs(value - analytic)).toBeLessThan(1e-8 * Math.max(1, Math.abs(analytic)));
    }
  });
});
