import { loadCases, runCase } from '@normkit/conformance';
import { describe, expect, it } from 'vitest';
import { groupNorm } from './plugin.js';

// Tolerances are the vectors' README's: float64 rtol 1e-10 / atol 1e-12 (hard case 1e-7 / 1e-8);
// float32 rtol 1e-4 / atol 1e-5 (the outputs are rounded to float32), hard case only for shape
// and finiteness in float32 (its inputs are resolved to 0.1σ only).
const cases = loadCases().filter((c) => c.layer === 'group_norm');

describe('PyTorch 1.13.1 vectors for group_norm', () => {
  it('covers the 7 vendored group-norm cases, including the indivisible error case', () => {
    expect(cases.length).toBe(7);
    expect(cases.filter((c) => c.expectError).map((c) => c.id)).toEqual(['groupnorm-error-indivisible-001']);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.id} passes in ${dtype}`, () => {
        const result = runCase(c, groupNorm, { dtype });
        expect(result.status, result.message).toBe('pass');
        if (c.expectError) expect(result.message).toBe('raised E_OPTION at creation');
      });
    }
  }
});
