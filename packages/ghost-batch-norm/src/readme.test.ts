import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the usage example runs as written and prints exactly what the README shows', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url))).trimEnd();
    // each virtual batch, the uneven remainder included, is normalized to mean 0, variance ≈ 1
    expect(output).toContain('samples 8–9, channel 0: |mean| 0.0000, variance 1.0000');
    expect(output).toContain('steps 1');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`text\n${output}\n\`\`\``);
  });
});
