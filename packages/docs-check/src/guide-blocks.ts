import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A fenced code block of a guide that quotes a real file verbatim. */
export interface QuotedBlock {
  /** The guide it is in. */
  readonly guide: string;
  /** The 1-based line of the marker comment. */
  readonly line: number;
  /** The quoted file, as an absolute path. */
  readonly file: string;
  /** The block's code, exactly as written in the guide. */
  readonly code: string;
}

const MARKER = /^<!--\s*file:\s*(\S+)\s*-->\s*$/;

/**
 * Finds every code block of a Markdown guide preceded by a marker line
 * `<!-- file: relative/path.ts -->`: such a block must equal that file, byte for byte
 * (up to the file's final newline), so a guide cannot drift from code that is compiled
 * and tested.
 *
 * @param guide - path to the Markdown file
 * @returns the quoted blocks, in order
 * @throws Error when a marker is not followed by a fenced code block
 */
export function quotedBlocks(guide: string): QuotedBlock[] {
  const lines = readFileSync(guide, 'utf8').split('\n');
  const blocks: QuotedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = MARKER.exec(lines[i]);
    if (match === null) continue;
    const fence = /^(```+|~~~+)\S*\s*$/.exec(lines[i + 1] ?? '');
    if (fence === null) throw new Error(`${guide}:${i + 1}: "<!-- file: … -->" must be followed by a fenced code block`);
    const end = lines.findIndex((l, k) => k > i + 1 && l.trimEnd() === fence[1]);
    if (end < 0) throw new Error(`${guide}:${i + 2}: unclosed code block`);
    blocks.push({
      guide,
      line: i + 1,
      file: resolve(dirname(guide), match[1]),
      code: lines.slice(i + 2, end).join('\n'),
    });
    i = end;
  }
  return blocks;
}

/** The file's text as a guide quotes it: without its final newline. */
export function quotableText(file: string): string {
  return readFileSync(file, 'utf8').replace(/\n$/, '');
}
