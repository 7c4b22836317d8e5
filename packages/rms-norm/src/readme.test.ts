import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';

describe('README', () => {
  it('the usage example runs as written and prints what the README says', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
    expect(output).toContain('y  row 0: 0.3651 0.7303 1.0954 1.4606');
    expect(output).toContain('dx row 0: 0.3530 -0.0243 -0.0365 -0.0487');
    expect(output).toContain('dweight: 0.3651 0.0000 0.0000 1.6330');
    expect(output).toContain('rstd: 0.365148 0.408248');
  });
});
