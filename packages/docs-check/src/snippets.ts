import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { guidesDir, repoRoot } from './paths.js';

/** A fenced code block of a Markdown page. */
export interface Snippet {
  /** The page, relative to the repository root. */
  readonly page: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  /** The language: the first word of the info string (`ts`, `js`, `sh`, `text`, …). */
  readonly lang: string;
  /** The other words of the info string, e.g. `fragment`. */
  readonly flags: readonly string[];
  /** The code. */
  readonly code: string;
  /** Quotes a real file (`<!-- file: … -->` on the line before), tested with that file. */
  readonly quoted: boolean;
  /** The text block that follows when the prose between says "It prints:", else `null`. */
  readonly prints: string | null;
}

/** The languages whose blocks run: TypeScript (compiled strict, then run) and JavaScript. */
export const RUNNABLE: ReadonlySet<string> = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

/** The info-string word that marks a block that cannot run by itself (see CONTRIBUTING.md). */
export const FRAGMENT = 'fragment';

/**
 * Every fenced code block of a Markdown page, with its language, flags, whether it quotes a
 * file, and the output it says it prints.
 *
 * @param file - the Markdown file
 * @returns the blocks, in order
 */
export function snippetsOf(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const page = relative(repoRoot, file);
  const snippets: Snippet[] = [];
  const fenceAt = (i: number) => /^(```+|~~~+)(.*)$/.exec(lines[i]);
  const closeOf = (i: number, fence: string) => lines.findIndex((l, k) => k > i && l.trimEnd() === fence);
  for (let i = 0; i < lines.length; i++) {
    const open = fenceAt(i);
    if (open === null) continue;
    const end = closeOf(i, open[1]);
    if (end < 0) throw new Error(`${page}:${i + 1}: unclosed code block`);
    const [lang = '', ...flags] = open[2].trim().split(/\s+/).filter((w) => w.length > 0);
    const quoted = i > 0 && /^<!--\s*file:/.test(lines[i - 1]);
    // "It prints:" alone on a line between this block and the next one, which is ```text.
    let prints: string | null = null;
    let k = end + 1;
    while (k < lines.length && lines[k].trim() === '') k++;
    if (lines[k]?.trim() === 'It prints:') {
      k++;
      while (k < lines.length && lines[k].trim() === '') k++;
      const next = fenceAt(k);
      if (next !== null && next[2].trim() === 'text') {
        const nextEnd = closeOf(k, next[1]);
        if (nextEnd > k) prints = lines.slice(k + 1, nextEnd).join('\n');
      }
    }
    snippets.push({ page, line: i + 1, lang, flags, code: lines.slice(i + 1, end).join('\n'), quoted, prints });
    i = end;
  }
  return snippets;
}

/** The pages whose snippets are tested: the home page, CONTRIBUTING.md, every package README, every guide. */
export function documentedPages(): string[] {
  const packages = join(repoRoot, 'packages');
  const readmes = readdirSync(packages, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(packages, d.name, 'README.md'))
    .filter((f) => {
      try {
        readFileSync(f);
        return true;
      } catch {
        return false;
      }
    });
  const guides = readdirSync(guidesDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(guidesDir, f));
  return [join(repoRoot, 'README.md'), join(repoRoot, 'CONTRIBUTING.md'), ...readmes.sort(), ...guides.sort()];
}
