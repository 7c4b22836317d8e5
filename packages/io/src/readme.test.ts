import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the usage example runs as written and prints what the README says', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
    expect(output).toContain("400 bytes; metadata { format: 'pt' }");
    expect(output).toContain('dtypes numBatchesTracked=I64 bias=F32 runningMean=F32 runningVar=F32 weight=F32');
    // One step with momentum 0.1 from mean 0: 0.1 · mean(1, 2, 3) = 0.2 and 0.1 · 20 = 2 (float32).
    expect(output).toContain('running mean 0.20000000298023224 2 | batches 1');
    expect(output).toContain('for PyTorch: num_batches_tracked bias running_mean running_var weight');
    // 0.9 + 0.1 · unbiased var(10, 20, 30) = 0.9 + 10 = 10.9, shortest float32 text "10.9".
    expect(output).toContain('"runningVar": {"dtype": "float32", "shape": [2], "data": [1, 10.9]},');
    expect(output).toContain('running var 1 10.899999618530273');
  });
});
