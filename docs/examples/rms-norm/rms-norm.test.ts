// rms-norm.test.ts: prove the plugin with finite differences and PyTorch's vectors.
import { describe, expect, it } from 'vitest';
import { loadCases, runCase } from '@normkit/conformance';
import { assertGradients } from '@normkit/gradcheck';
import { rmsNorm } from './rms-norm.js';

describe('rmsNorm', () => {
  it('has correct gradients', () => {
    assertGradients(rmsNorm); // throws with a table of the worst entries when wrong
  });

  it('matches PyTorch on the rms_norm golden vectors', () => {
    const cases = loadCases().filter((c) => c.layer === 'rms_norm');
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      for (const dtype of ['float64', 'float32'] as const) {
        const result = runCase(c, rmsNorm, { dtype });
        expect(result.status, `${c.id} (${dtype}): ${result.message}`).toBe('pass');
      }
    }
  });
});
