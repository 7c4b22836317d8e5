import { loadCases, runCase } from '@normkit/conformance';
import { describe, expect, it } from 'vitest';
import { batchNorm } from './plugin.js';

// Tolerances are the vectors' README's: float64 rtol 1e-10 / atol 1e-12 (hard cases 1e-7 / 1e-8);
// float32 rtol 1e-4 / atol 1e-5 (float32 rounding of outputs and of running statistics), hard
// cases only for shape and finiteness in float32 (their inputs are resolved to 0.1σ only).
const cases = loadCases().filter((c) => c.layer === 'batch_norm');

describe('PyTorch 1.13.1 vectors for batch_norm', () => {
  it('covers the 22 vendored batch-norm cases, including 2 error cases', () => {
    expect(cases.length).toBe(22);
    expect(cases.filter((c) => c.expectError).length).toBe(2);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.id} passes in ${dtype}`, () => {
        const result = runCase(c, batchNorm, { dtype });
        expect(result.status, result.message).toBe('pass');
        if (c.expectError) expect(result.message).toBe('raised E_DEGENERATE');
        // second-order cases: dsdx, dsdweight, dsdbias and dsddy compared through doubleBackward
        if (c.secondOrder !== undefined) expect(result.secondOrder).toBe('checked');
      });
    }
  }
});
