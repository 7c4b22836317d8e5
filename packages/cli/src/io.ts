/** Where a command writes: injectable so tests can capture output. */
export interface Io {
  /**
   * Writes results (the JSON with `--json`).
   *
   * @param text - the text, newlines included
   */
  out(text: string): void;
  /**
   * Writes progress and errors.
   *
   * @param text - the text, newlines included
   */
  err(text: string): void;
}

/** The process's stdout and stderr. */
export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A number for a table cell: exponent notation, `-` for none. */
export function formatError(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-';
  return value === 0 ? '0' : value.toExponential(2);
}

/** Pads cells into aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

/** Indents every line of `text` (ending in a newline) by two spaces. */
export function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n');
}
