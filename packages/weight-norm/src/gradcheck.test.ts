import { assertGradients, checkGradients } from '@normkit/gradcheck';
import type { Normalizer } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { weightNorm, weightNormLinear } from './index.js';

// Finite differences (central, relative step, float64) against the hand-written backward,
// for every example option set, mode and shape the plugin declares, with the contract
// checks (purity, zero dy, linearity, determinism, shapes and dtypes, invariants).
// Tolerance: @normkit/gradcheck's defaults, rtol 1e-5 and atol 1e-6 × scale.
describe('gradcheck', () => {
  for (const plugin of [weightNorm, weightNormLinear] as readonly Normalizer[]) {
    it(`${plugin.meta.name}: passes over 10 seeds with no false alarm`, () => {
      for (let seed = 0; seed < 10; seed++) {
        const report = assertGradients(plugin, { seed });
        expect(report.ok).toBe(true);
        expect(report.checks.length).toBeGreaterThan(0);
        expect(report.contracts.every((c) => c.ok)).toBe(true);
      }
    });

    it(`${plugin.meta.name}: agrees with Richardson-extrapolated differences to 1e-8`, () => {
      const report = checkGradients(plugin, { seed: 42, richardson: true, rtol: 1e-8, atol: 1e-9 });
      expect(report.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual([]);
    });
  }
});
