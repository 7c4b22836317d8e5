import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';

describe('README', () => {
  it('the usage example runs as written and prints the normalized rows and gradients', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
    expect(output).toContain('y  row 0: -1.3416 -0.4472 0.4472 1.3416');
    expect(output).toContain('y  row 1: -1.3416 -0.4472 0.4472 1.3416');
    expect(output).toContain('mean: 2.5 25');
    expect(output).toContain('dx row 0: 0.2683 -0.3578 -0.0894 0.1789');
    expect(output).toContain('dbias: 1 0 0 1');
  });
});
