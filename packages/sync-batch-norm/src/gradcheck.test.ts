import { gradcheckAcrossSeeds } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { syncBatchNorm } from './plugin.js';

describe('gradcheck', () => {
  it('sync-batch-norm in single-worker mode (loopbackAllReduce) passes over 5 seeds (rtol 1e-5) and with Richardson at 1e-8, in train and eval', () => {
    expect(gradcheckAcrossSeeds(syncBatchNorm, 5)).toEqual([]);
  });
});
