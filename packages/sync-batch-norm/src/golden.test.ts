import type { GoldenCase } from '@normkit/conformance';
import { loadCases, runCase } from '@normkit/conformance';
import type { Normalizer } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { syncBatchNorm } from './plugin.js';

// In one process (loopbackAllReduce), PyTorch's SyncBatchNorm is BatchNorm; the batch_norm
// vectors apply, read as sync_batch_norm cases. Tolerances are the vectors' README's:
// float64 rtol 1e-10 / atol 1e-12 (hard cases 1e-7 / 1e-8); float32 rtol 1e-4 / atol 1e-5.
const cases = loadCases()
  .filter((c) => c.layer === 'batch_norm')
  .map((c) => ({ ...c, layer: 'sync_batch_norm' }) as unknown as GoldenCase);

describe('PyTorch 1.13.1 batch_norm vectors, as sync batch norm in one process', () => {
  it('covers the 22 batch-norm cases, including 2 error cases', () => {
    expect(cases.length).toBe(22);
    expect(cases.filter((c) => c.expectError).length).toBe(2);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.id} passes in ${dtype}`, () => {
        const result = runCase(c, syncBatchNorm as unknown as Normalizer, { dtype });
        expect(result.status, result.message).toBe('pass');
        if (c.expectError) expect(result.message).toBe('raised E_DEGENERATE');
      });
    }
  }
});
