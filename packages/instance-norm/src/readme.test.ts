import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';

describe('README', () => {
  it('the usage example runs as written and prints what the README says', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
    expect(output).toContain('y sample 0: -1.2247 0.0000 1.2247 -0.7071 -0.7071 1.4142');
    expect(output).toContain('running mean: 0.4000 0.1000');
    expect(output).toContain('running var: 1.1500 1.0500');
    expect(output).toContain('eval y sample 0: 0.5595 1.4920 2.4245 -0.0976 -0.0976 2.8301');
  });
});
