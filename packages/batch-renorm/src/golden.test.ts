import type { GoldenCase } from '@normkit/conformance';
import { loadCases, runCase } from '@normkit/conformance';
import type { Normalizer } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { batchRenorm } from './plugin.js';
import type { BatchRenormTypes } from './plugin.js';

// PyTorch has no batch renorm; with rmax = 1 and dmax = 0 batch renorm is batch norm, so
// PyTorch's batch_norm vectors apply, read as batch_renorm cases with those limits. The
// cases without running statistics are left out (batch renorm always keeps them).
// Tolerances are the vectors' README's: float64 rtol 1e-10 / atol 1e-12 (hard cases 1e-7 /
// 1e-8); float32 rtol 1e-4 / atol 1e-5 (outputs and running statistics rounded to float32).
const cases = loadCases()
  .filter((c) => c.layer === 'batch_norm' && c.options.trackRunningStats !== false)
  .map((c) => ({ ...c, layer: 'batch_renorm' }) as unknown as GoldenCase);

const asBatchNorm: Normalizer<BatchRenormTypes> = {
  ...batchRenorm,
  pytorch: { ...batchRenorm.pytorch!, options: (o, shapes) => ({ ...batchRenorm.pytorch!.options(o, shapes), rmax: 1, dmax: 0 }) },
};

describe('PyTorch 1.13.1 batch_norm vectors, as batch renorm with rmax = 1, dmax = 0', () => {
  it('covers the 18 batch-norm cases with running statistics, including 2 error cases', () => {
    expect(cases.length).toBe(18);
    expect(cases.filter((c) => c.expectError).length).toBe(2);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.id} passes in ${dtype}`, () => {
        const result = runCase(c, asBatchNorm as unknown as Normalizer, { dtype });
        expect(result.status, result.message).toBe('pass');
        if (c.expectError) expect(result.message).toBe('raised E_DEGENERATE');
      });
    }
  }
});
