import { gradcheckAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { groupNorm } from './plugin.js';

describe('gradcheck', () => {
  it('backward matches finite differences over 3 seeds (rtol 1e-5), and with Richardson at rtol 1e-8; Σ dx = 0 per (sample, group)', () => {
    expect(gradcheckAcrossSeeds(groupNorm, 3)).toEqual([]);
  });
});
