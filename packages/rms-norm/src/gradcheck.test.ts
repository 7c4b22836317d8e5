import { gradcheckAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { rmsNorm } from './plugin.js';

describe('gradcheck', () => {
  it('backward matches finite differences over 3 seeds (rtol 1e-5), and with Richardson at rtol 1e-8', () => {
    expect(gradcheckAcrossSeeds(rmsNorm, 3)).toEqual([]);
  });
});
