import { describe, expect, it } from 'vitest';
import { batchStatistics, planCache, planNormalization } from './engine/ops.js';
import { viewOf } from './engine/view.js';
import { NormkitError } from './errors.js';
import { normBackward, normDoubleBackward } from './norm-backward.js';
import type { NormBackwardBinding } from './norm-backward.js';
import { fromArray } from './tensor.js';
import type { Shape } from './tensor.js';

// A layer norm over the last axis of (2, 3) inputs, γ and β of shape [3].
const binding: NormBackwardBinding = {
  spec: { plugin: 'rows', paramShapes: { weight: [3], bias: [3] } },
  fits: (shape: Shape) => (shape.length === 2 && shape[1] === 3 ? null : 'expected (N, 3)'),
  groupsOf: (shape: Shape) => shape[0],
  plans: planCache((shape) => planNormalization(shape, [0], [1])),
  paramShape: [3],
  centered: true,
  alwaysBatchStats: true,
};
const xValues = [1, 2, 4, -3, 0.5, 6];
const dyValues = [0.3, -1, 2, 1.5, 0.25, -0.75];
const gamma = [2, -0.5, 1.25];
const x = fromArray(xValues, [2, 3], 'float64');
const stats = batchStatistics(viewOf(x), binding.plans([2, 3]), true, 1e-5);
const saved = { x, center: stats.center, invStd: stats.invStd, batchStats: true };

/** The closed form per row: x̂ = (x − μ)s, g = dy·γ, dx = s(g − mean g − x̂ · mean(g x̂)). */
function closedForm(): { dx: number[]; dGamma: number[]; dBeta: number[] } {
  const dx: number[] = [];
  const dGamma = [0, 0, 0];
  const dBeta = [0, 0, 0];
  for (let r = 0; r < 2; r++) {
    const row = xValues.slice(3 * r, 3 * r + 3);
    const mean = (row[0] + row[1] + row[2]) / 3;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / 3;
    const s = 1 / Math.sqrt(variance + 1e-5);
    const xhat = row.map((v) => (v - mean) * s);
    const dy = dyValues.slice(3 * r, 3 * r + 3);
    const g = dy.map((d, j) => d * gamma[j]);
    const meanG = (g[0] + g[1] + g[2]) / 3;
    const meanGX = (g[0] * xhat[0] + g[1] * xhat[1] + g[2] * xhat[2]) / 3;
    for (let j = 0; j < 3; j++) {
      dx.push(s * (g[j] - meanG - xhat[j] * meanGX));
      dGamma[j] += dy[j] * xhat[j];
      dBeta[j] += dy[j];
    }
  }
  return { dx, dGamma, dBeta };
}

describe('normBackward', () => {
  it('gives the closed-form dx, ∂L/∂γ and ∂L/∂β (float64, 1e-12 relative)', () => {
    const expected = closedForm();
    const params = { weight: fromArray(gamma, [3], 'float64'), bias: fromArray([0, 0, 0], [3], 'float64') };
    const { dx, grads } = normBackward(binding, { dy: fromArray(dyValues, [2, 3], 'float64'), params, saved });
    const close = (got: ArrayLike<number>, want: number[]) => want.forEach((w, k) => expect(got[k]).toBeCloseTo(w, 12));
    close(dx.data, expected.dx);
    close(grads.weight!.data, expected.dGamma);
    close(grads.bias!.data, expected.dBeta);
  });

  it('returns gradients only for the parameters present, and refuses a saved value that does not fit (E_STATE)', () => {
    const weightOnly = { ...binding, spec: { plugin: 'rows', paramShapes: { weight: [3] } } };
    const { grads } = normBackward(weightOnly, { dy: fromArray(dyValues, [2, 3], 'float64'), params: { weight: fromArray(gamma, [3], 'float64') }, saved });
    expect(Object.keys(grads)).toEqual(['weight']);
    const bad = () => normBackward(binding, { dy: fromArray(dyValues, [2, 3], 'float64'), params: {}, saved: { ...saved, invStd: new Float64Array(1) } });
    expect(bad).toThrow(NormkitError);
    expect(bad).toThrow(/saved: expected the saved value of a rows forward call with these options, got invStd that is not a Float64Array of 2 values/);
  });
});

describe('normDoubleBackward', () => {
  it('with only dgrads.bias given, every output is zero (β does not enter the backward pass), and ∂S/∂β is zero', () => {
    const params = { weight: fromArray(gamma, [3], 'float64'), bias: fromArray([0, 0, 0], [3], 'float64') };
    const { dx, ddy, grads } = normDoubleBackward(binding, {
      dy: fromArray(dyValues, [2, 3], 'float64'),
      params,
      saved,
      ddx: fromArray([0, 0, 0, 0, 0, 0], [2, 3], 'float64'),
      dgrads: { bias: fromArray([1, -2, 3], [3], 'float64') },
    });
    // ddy = ∂S/∂dy with S = Σ dgrads.bias · Σ dy: the bias cotangent itself, broadcast over rows.
    expect(Array.from(ddy.data)).toEqual([1, -2, 3, 1, -2, 3]);
    expect(Array.from(dx.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(grads.weight!.data)).toEqual([0, 0, 0]);
    expect(Array.from(grads.bias!.data)).toEqual([0, 0, 0]);
  });
});
