import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

describe('README', () => {
  it('the example runs as written and prints what the README says', () => {
    const dir = fileURLToPath(new URL('../../../wasm/', import.meta.url));
    const output = runReadmeExample(dir);
    const readme = readFileSync(new URL('../../../wasm/README.md', import.meta.url), 'utf8');
    const printed = /It prints\n\n```text\n([\s\S]*?)```/.exec(readme)![1];
    expect(output).toBe(printed);
  });
});
