import { gradcheckAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { instanceNorm } from './plugin.js';

describe('gradcheck', () => {
  it('backward matches finite differences over 3 seeds (rtol 1e-5), and with Richardson at rtol 1e-8, in train and eval; Σ dx = 0 per (sample, channel)', () => {
    expect(gradcheckAcrossSeeds(instanceNorm, 3)).toEqual([]);
  });
});
