import { gradcheckAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { ghostBatchNorm } from './plugin.js';

describe('gradcheck', () => {
  it('ghost-batch-norm passes over 5 seeds (rtol 1e-5) and with Richardson at 1e-8, in train and eval, even and uneven virtual batches, with Σ dx = 0 per (virtual batch, channel)', () => {
    expect(gradcheckAcrossSeeds(ghostBatchNorm, 5)).toEqual([]);
  });
});
