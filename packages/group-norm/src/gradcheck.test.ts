import type { Normalizer } from '@normkit/core';
import { checkGradients, formatReport } from '@normkit/gradcheck';
import { gradcheckAcrossSeeds, secondOrderAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { groupNorm } from './plugin.js';

describe('gradcheck', () => {
  it('backward matches finite differences over 3 seeds (rtol 1e-5), and with Richardson at rtol 1e-8; Σ dx = 0 per (sample, group)', () => {
    expect(gradcheckAcrossSeeds(groupNorm, 3)).toEqual([]);
  });
});

// The hardened checks (@normkit/gradcheck): besides the gradients and the classic contract,
// float32 values against float64 on the same inputs, inputs as views (offset, permuted and
// negative strides) and out buffers, the declared dtype mixes, the declared state update and
// mode independence. Here at every example shape (variantShapes 'all') over 20 seeds, and once
// at the large shapes, in projection mode. A failure prints the report.
describe('hardened gradcheck', () => {
  for (const plugin of [groupNorm] as readonly Normalizer[]) {
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
  it('groupNorm: doubleBackward passes over 3 seeds, and with Richardson differences at 1e-8', () => {
    expect(secondOrderAcrossSeeds(groupNorm, 3)).toEqual([]);
  }, 120_000); // a guard against hangs on a loaded machine, not a speed assertion
});
