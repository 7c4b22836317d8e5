import { gradcheckAcrossSeeds, secondOrderAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { instanceNorm } from './plugin.js';

describe('gradcheck', () => {
  it('backward matches finite differences over 3 seeds (rtol 1e-5), and with Richardson at rtol 1e-8, in train and eval; Σ dx = 0 per (sample, channel)', () => {
    expect(gradcheckAcrossSeeds(instanceNorm, 3)).toEqual([]);
  });
});

// Order 2: doubleBackward (the VJP of backward) against finite differences of backward in x,
// every parameter and dy, with full Jacobians at the example shapes, over 3 seeds at the
// defaults (rtol 1e-5, atol 1e-6·scale), then with Richardson at rtol 1e-8.
describe('gradcheck, order 2', () => {
  it('instanceNorm: doubleBackward passes over 3 seeds, and with Richardson differences at 1e-8', () => {
    expect(secondOrderAcrossSeeds(instanceNorm, 3)).toEqual([]);
  }, 120_000); // a guard against hangs on a loaded machine, not a speed assertion
});
