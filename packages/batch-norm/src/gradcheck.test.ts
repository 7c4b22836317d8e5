import type { Normalizer } from '@normkit/core';
import { checkGradients, formatReport } from '@normkit/gradcheck';
import { gradcheckAcrossSeeds, secondOrderAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { batchNorm } from './index.js';

// Finite differences (central, relative step, float64) against the hand-written backward for
// every example option set, mode and shape the plugin declares, with the contract checks, over
// 10 seeds at gradcheck's defaults (rtol 1e-5, atol 1e-6·scale), then with Richardson at 1e-8.
describe('gradcheck', () => {
  for (const plugin of [batchNorm] as readonly Normalizer[]) {
    it(`${plugin.meta.name}: passes over 10 seeds, and with Richardson differences at 1e-8`, () => {
      expect(gradcheckAcrossSeeds(plugin, 10)).toEqual([]);
    }, 60_000); // ten full gradchecks and a Richardson run take seconds, more than the default 5 s timeout
  }
});

// The hardened checks (@normkit/gradcheck): besides the gradients and the classic contract,
// float32 values against float64 on the same inputs, inputs as views (offset, permuted and
// negative strides) and out buffers, the declared dtype mixes, the declared state update and
// mode independence. Here at every example shape (variantShapes 'all') over 20 seeds, and once
// at the large shapes, in projection mode. A failure prints the report.
describe('hardened gradcheck', () => {
  for (const plugin of [batchNorm] as readonly Normalizer[]) {
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
// every parameter and dy, with full Jacobians at the example shapes, over 10 seeds at the
// defaults (rtol 1e-5, atol 1e-6·scale), then with Richardson at rtol 1e-8.
describe('gradcheck, order 2', () => {
  it('batchNorm: doubleBackward passes over 10 seeds, and with Richardson differences at 1e-8', () => {
    expect(secondOrderAcrossSeeds(batchNorm, 10)).toEqual([]);
  }, 120_000); // a guard against hangs on a loaded machine, not a speed assertion
});
