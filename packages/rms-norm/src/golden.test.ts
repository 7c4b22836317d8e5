import { loadCases, runCase } from '@normkit/conformance';
import { describe, expect, it } from 'vitest';
import { rmsNorm } from './plugin.js';

// Tolerances are the vectors' README's: float64 rtol 1e-10 / atol 1e-12; float32 rtol 1e-4 /
// atol 1e-5 (the outputs are rounded to float32). Every case gives eps explicitly.
const cases = loadCases().filter((c) => c.layer === 'rms_norm');

describe('PyTorch vectors for rms_norm', () => {
  it('covers the 4 vendored RMS-norm cases', () => {
    expect(cases.length).toBe(4);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.id} passes in ${dtype}`, () => {
        const result = runCase(c, rmsNorm, { dtype });
        expect(result.status, result.message).toBe('pass');
      });
    }
  }
});
