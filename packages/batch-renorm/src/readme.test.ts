import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the usage example runs as written and prints exactly what the README shows', () => {
    const dir = fileURLToPath(new URL('..', import.meta.url));
    const output = runReadmeExample(dir).trimEnd();
    // the warm-up is batch norm (r = 1, d = 0); afterwards the correction is within the ramped limits
    expect(output).toContain('step 2: rmax 1.00 dmax 0.00 | r 1.0000 1.0000 | d 0.0000 0.0000');
    expect(output).toContain('step 3: rmax 1.50 dmax 2.50 | r 1.3162 1.2185 | d 0.3016 -0.1531');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`text\n${output}\n\`\`\``);
  });
});
