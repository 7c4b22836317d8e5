import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('two worker threads train the example model step by step identically to one process, and it prints what the README shows', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url))).trimEnd();
    expect(output).toContain('parameters and running statistics equal one process\'s within 1e-12: true');
    for (const line of output.split('\n').slice(0, 5)) {
      const [, workers, single] = /loss (\S+) \(2 workers\), (\S+) \(one process\)/.exec(line)!;
      expect(workers).toBe(single);
    }
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`text\n${output}\n\`\`\``);
  }, 120_000);
});
