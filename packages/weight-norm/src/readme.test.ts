import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '@normkit/testkit';

describe('README', () => {
  it('the usage example runs as written and prints what its comments say (values to 1e-12)', () => {
    const out = runReadmeExample(new URL('..', import.meta.url).pathname);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^g = \[ 5, 2, 1\.414\d* \] shape \[ 3, 1 \]$/);
    expect(lines[1]).toBe('w = [ 3, 4, 0, 2, 1, 1 ]');
    const inner = Number(/= (.*)$/.exec(lines[2])?.[1]);
    expect(Math.abs(inner)).toBeLessThan(1e-12);
    expect(lines[3]).toMatch(/^unit 0 on the batch: mean -?0\.000000000000 variance 1\.000000000000$/);
    // dg = Σ dw·v/‖v‖ per row: (1·3 + 0·4)/5, (0·0 + 1·2)/2, (1·1 − 1·1)/√2, printed to 12 decimals.
    expect(lines[4]).toBe('dg = [ 0.6, 1, 0 ] w unchanged: true');
    expect(lines).toHaveLength(5);
  });
});
