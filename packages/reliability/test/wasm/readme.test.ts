import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';

// The wasm README has two examples, the default backend's and an explicit backend's, each
// followed by "It prints" and its output. Each runs as written, on its own, in a fresh Node
// process from the wasm package's folder (the built packages, as users import them).
const wasmDir = fileURLToPath(new URL('../../../wasm/', import.meta.url));
const readme = readFileSync(join(wasmDir, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```js\n([\s\S]*?)```\n\nIt prints\n\n```text\n([\s\S]*?)```/g)].map((m) => ({ code: m[1], printed: m[2] }));

describe('README', () => {
  it('has two examples with their output: the default backend first, then enableWasm', () => {
    expect(examples.length).toBe(2);
    expect(readme.match(/```js\n/g)?.length).toBe(2);
    expect(examples[0].code).not.toContain('enableWasm');
    expect(examples[1].code).toContain('enableWasm');
  });

  it.each(examples.map((e, i) => [i + 1, e] as const))('example %i runs as written and prints what the README says', (_i, example) => {
    // runReadmeExample runs the first js block of a folder's README: one folder per example,
    // inside the wasm package so that its imports resolve as they do for the README's reader.
    const dir = mkdtempSync(join(wasmDir, '.readme-example-'));
    try {
      writeFileSync(join(dir, 'README.md'), `\`\`\`js\n${example.code}\`\`\`\n`);
      expect(runReadmeExample(dir)).toBe(example.printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
