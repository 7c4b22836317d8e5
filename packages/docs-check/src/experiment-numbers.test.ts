// The guides built on the experiments quote their numbers from the full run's summary, and
// show that run's plots: every decimal number in the results part of a guide must appear in
// packages/experiments/results/summary.md, and every plot a guide embeds from media/ must be
// byte for byte the SVG of packages/experiments/results/ (`npm run experiment -- --docs`
// copies them). packages/experiments/src/results.test.ts checks that summary.md is what that
// run's results.json renders to.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guidesDir, repoRoot } from './paths.js';

const resultsDir = join(repoRoot, 'packages', 'experiments', 'results');
const summary = readFileSync(join(resultsDir, 'summary.md'), 'utf8');

/** The guide's text without fenced code blocks (commands and snippets are not results). */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');
}

/** Decimal numbers as written (`93.3`, `0.207`, `2.22e-15`), with a following `%` when there is one. */
function decimals(text: string): string[] {
  return [...text.matchAll(/(?<![\w.])\d+\.\d+(?:e[-−]?\d+)?%?/g)].map((m) => m[0]);
}

const GUIDES: { file: string; from: string | null }[] = [
  // The whole guide is about the run.
  { file: 'does-batch-norm-work.md', from: null },
  // Only its results section is (the rest describes the variants and the papers' settings).
  { file: 'small-odd-distributed-batches.md', from: '## Results' },
];

describe('the experiment guides quote the full run', () => {
  for (const { file, from } of GUIDES) {
    const text = readFileSync(join(guidesDir, file), 'utf8');
    const part = from === null ? text : text.slice(text.indexOf(from));

    it(`${file}: has the results part`, () => {
      expect(from === null || text.includes(from)).toBe(true);
      expect(part).not.toMatch(/TBD|to be added/i);
    });

    it(`${file}: every decimal number appears in results/summary.md`, () => {
      const numbers = decimals(prose(part));
      expect(numbers.length).toBeGreaterThan(5);
      const missing = numbers.filter((n) => !new RegExp(`(?<![\\w.])${n.replace(/[.%]/g, (c) => `\\${c}`)}(?![\\d])`).test(summary));
      expect(missing, `numbers in ${file} that summary.md does not have`).toEqual([]);
    });

    it(`${file}: every plot it shows from media/ is the run's SVG`, () => {
      const plots = [...part.matchAll(/\]\(media\/([\w-]+\.svg)\)/g)].map((m) => m[1]);
      for (const name of plots) {
        const fromRun = join(resultsDir, name);
        expect(existsSync(fromRun), name).toBe(true);
        expect(readFileSync(join(guidesDir, 'media', name), 'utf8') === readFileSync(fromRun, 'utf8'), `media/${name} differs from packages/experiments/results/${name}`).toBe(true);
      }
    });
  }
});
