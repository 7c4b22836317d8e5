import { loadCases, runCase } from '@normkit/conformance';
import { describe, expect, it } from 'vitest';
import { instanceNorm } from './plugin.js';

// Tolerances are the vectors' README's: float64 rtol 1e-10 / atol 1e-12; float32 rtol 1e-4 /
// atol 1e-5 (the outputs are rounded to float32).
const cases = loadCases().filter((c) => c.layer === 'instance_norm');

describe('PyTorch 1.13.1 vectors for instance_norm', () => {
  it('covers the 4 vendored instance-norm cases, including the one-spatial-element error case', () => {
    expect(cases.length).toBe(4);
    expect(cases.filter((c) => c.expectError).map((c) => c.id)).toEqual(['instancenorm-error-1spatial-001']);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.id} passes in ${dtype}`, () => {
        const result = runCase(c, instanceNorm, { dtype });
        expect(result.status, result.message).toBe('pass');
        if (c.expectError) expect(result.message).toBe('raised E_DEGENERATE');
      });
    }
  }
});
