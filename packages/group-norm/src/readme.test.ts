import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';

describe('README', () => {
  it('the usage example runs as written and prints what the README says', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
    expect(output).toContain('y sample 0: -1.3416 -0.4472 0.4472 1.3416 -1.3416 -0.4472 0.4472 1.3416');
    expect(output).toContain('dx sample 0: 0.0000 0.0000 0.0000 0.0000 0.0000 0.0000 0.0000 0.0000');
    expect(output).toContain('dbias: 4 4 4 4');
    expect(output).toContain('group means: 2.5 6.5 25 65');
  });
});
