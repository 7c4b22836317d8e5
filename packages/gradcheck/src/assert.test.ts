import { describe, expect, it } from 'vitest';
import { assertGradients } from './assert.js';
import { batchNorm, makeBatchNorm } from '../test/fixtures/batch-norm.js';
import { layerNorm } from '../test/fixtures/layer-norm.js';

describe('assertGradients', () => {
  it('returns the report for a correct plugin', () => {
    expect(assertGradients(batchNorm).ok).toBe(true);
    expect(assertGradients(layerNorm, { seed: 3, richardson: true }).ok).toBe(true);
  });

  it('throws with the report table as the message for a broken plugin', () => {
    let caught: unknown;
    try {
      assertGradients(makeBatchNorm('dx-without-gamma'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    const message = (caught as Error).message;
    expect((caught as Error).name).toBe('GradcheckError');
    expect(message.split('\n')[0]).toBe('gradcheck test-batch-norm-dx-without-gamma@0.0.0: FAIL');
    expect(message).toMatch(/^FAIL\s+.*\s+x\s+full-jacobian/m);
    expect(message).toContain('Failures:');
  });

  it('is what a vitest user writes in one line', () => {
    expect(() => assertGradients(makeBatchNorm('grads-not-summed'))).toThrow(/FAIL.*weight/);
  });
});
