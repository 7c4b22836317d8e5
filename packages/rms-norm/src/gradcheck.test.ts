import type { Normalizer } from '@normkit/core';
import { checkGradients, formatReport } from '@normkit/gradcheck';
import { gradcheckAcrossSeeds, secondOrderAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { rmsNorm } from './plugin.js';

describe('gradcheck', () => {
  it('backward matches finite differences over 3 seeds (rtol 1e-5), and with Richardson at rtol 1e-8', () => {
    expect(gradcheckAcrossSeeds(rmsNorm, 3)).toEqual([]);
  });
});

// The hardened checks (@normkit/gradcheck): besides the gradients and the classic contract,
// float32 values against float64 on the same inputs, inputs as views (offset, permuted and
// negative strides) and out buffers, the declared dtype mixes, the declared state update and
// mode independence. Here at every example shape (variantShapes 'all') over 20 seeds, and once
// at the large shapes, in projection mode. A failure prints the report.
describe('hardened gradcheck', () => {
  for (const plugin of [rmsNorm] as readonly Normalizer[]) {
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

// Order 2: doubleBackward (the VJP of backward) against finite differences of backward in x,
// every parameter and dy, with full Jacobians at the example shapes, over 3 seeds at the
// defaults (rtol 1e-5, atol 1e-6·scale), then with Richardson at rtol 1e-8.
describe('gradcheck, order 2', () => {
  it('rmsNorm: doubleBackward passes over 3 seeds, and with Richardson differences at 1e-8', () => {
    expect(secondOrderAcrossSeeds(rmsNorm, 3)).toEqual([]);
  }, 120_000); // a guard against hangs on a loaded machine, not a speed assertion
});

// eps: null is the dtype's machine epsilon, so a float32 call is another function than the
// float64 call on the same values; float64Reference gives the checker the float64 call with
// float32's epsilon. Without it, a row of one element (dx = g·eps/(x² + eps)^{3/2}, ~1e-5 in
// float32 against ~1e-14 in float64) failed the float32 and mixed-dtype checks (found by the
// reliability property suite).
describe('float64Reference (eps: null)', () => {
  it('binds eps to the dtype of the compared call: 2^-23 for float32, 2^-52 for float64, an explicit eps unchanged', () => {
    const bound = rmsNorm.create({ normalizedShape: [1] });
    expect(bound.float64Reference?.('float32').options.eps).toBe(2 ** -23);
    expect(bound.float64Reference?.('float64').options.eps).toBe(2 ** -52);
    expect(rmsNorm.create({ normalizedShape: [1], eps: 1e-3 }).float64Reference?.('float32').options.eps).toBe(1e-3);
  });

  it('rows of one element pass the float32 and mixed-dtype checks over 20 seeds', () => {
    for (let seed = 0; seed < 20; seed++) {
      const report = checkGradients(rmsNorm, { options: { normalizedShape: [1], eps: null, elementwiseAffine: false }, shapes: [[1], [3, 1]], modes: ['train'], seed });
      if (!report.ok) throw new Error(formatReport(report));
      expect(report.ok).toBe(true);
    }
  });
});
