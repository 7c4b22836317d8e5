import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Workload, WorkloadOp } from '../workloads.js';

const run = promisify(execFile);

/** The vendored C source (`packages/bench/ref/bench_c.c`), the same path from `src/impls` and `dist/impls`. */
export const C_REF_SOURCE = fileURLToPath(new URL('../../ref/bench_c.c', import.meta.url));

/** How bench_c.c is compiled (as its header says), before `-o` and `-lm`. */
export const C_REF_FLAGS: readonly string[] = ['-O3', '-march=native', '-fopenmp'];

/** One timing line of bench_c: `C-ref <W> <phase> thr=<n> median_ms <ms> GB/s <x> maxAbsDiff <d>`. */
export interface CRefLine {
  /** bench_c's workload: W1 (256, 1024), W2 (32, 64, 56, 56), W3 (4096, 768) layer norm, W4 (W2 in eval). */
  readonly workload: string;
  /** Its phase: `fwd`, `bwd`, `fwdbwd`, `eval`, or a variant such as `fwd(c-major)`. */
  readonly phase: string;
  /** OpenMP threads it ran with. */
  readonly threads: number;
  /** The median of its 9 samples, ms per call. */
  readonly medianMs: number;
  /** GB/s under data.cjs's bytes model (the same as the benchmark's). */
  readonly gbPerS: number;
  /** Its own check: max |output − float64 naive C reference| over the phase's last output (y or dx). */
  readonly maxAbsDiff: number;
}

/** bench_c's output, parsed. */
export interface CRefOutput {
  /** The timing lines, in order. */
  readonly lines: readonly CRefLine[];
  /** `W<k> checksum sum(x)=<s>`: the sum of its generated x, per workload. */
  readonly checksums: ReadonlyMap<string, number>;
}

const LINE = /^C-ref (W\d+) (.+?)\s+thr=(\d+) median_ms\s+(\S+) GB\/s\s+(\S+) maxAbsDiff (\S+)\s*$/;
const CHECKSUM = /^(W\d+) checksum sum\(x\)=(\S+)\s*$/;

/**
 * Parses bench_c's standard output (lines it does not know are ignored).
 *
 * @param text - what bench_c printed
 * @throws Error for a `C-ref` line whose numbers do not parse
 */
export function parseCRefOutput(text: string): CRefOutput {
  const lines: CRefLine[] = [];
  const checksums = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const checksum = CHECKSUM.exec(line);
    if (checksum !== null) {
      checksums.set(checksum[1], Number(checksum[2]));
      continue;
    }
    if (!line.startsWith('C-ref ')) continue;
    const m = LINE.exec(line);
    const numbers = m === null ? [] : [Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])];
    if (m === null || !numbers.every(Number.isFinite)) throw new Error(`c-ref: cannot parse bench_c line '${line}'`);
    lines.push({ workload: m[1], phase: m[2], threads: numbers[0], medianMs: numbers[1], gbPerS: numbers[2], maxAbsDiff: numbers[3] });
  }
  return { lines, checksums };
}

/** Which bench_c line times which benchmark workload (the full shapes, float32 only). */
const C_REF_MAP: readonly { op: WorkloadOp; shape: readonly number[]; workload: string; phase: string }[] = [
  { op: 'batch-norm-train-forward', shape: [256, 1024], workload: 'W1', phase: 'fwd' },
  { op: 'batch-norm-train-forward-backward', shape: [256, 1024], workload: 'W1', phase: 'fwdbwd' },
  { op: 'batch-norm-train-forward-backward', shape: [32, 64, 56, 56], workload: 'W2', phase: 'fwdbwd' },
  { op: 'layer-norm-forward', shape: [4096, 768], workload: 'W3', phase: 'fwd' },
  { op: 'layer-norm-forward-backward', shape: [4096, 768], workload: 'W3', phase: 'fwdbwd' },
  { op: 'batch-norm-eval-forward', shape: [32, 64, 56, 56], workload: 'W4', phase: 'eval' },
];

/**
 * The bench_c line (workload, phase) that times a benchmark workload, or `null` when bench_c
 * has none (other ops, other shapes such as `--quick`'s, float64).
 *
 * @param workload - the benchmark workload
 */
export function cRefLineFor(workload: Workload): { workload: string; phase: string } | null {
  if (workload.dtype !== 'float32') return null;
  const hit = C_REF_MAP.find((e) => e.op === workload.op && e.shape.length === workload.shape.length && e.shape.every((s, k) => s === workload.shape[k]));
  return hit === undefined ? null : { workload: hit.workload, phase: hit.phase };
}

/** A bench_c run: its parsed output and how it was built, or why there is none. */
export type CRefRun =
  | { readonly ok: true; readonly output: CRefOutput; readonly compiler: string; readonly command: string; readonly checksumsChecked: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** The version line of `gcc --version`, or `null` when gcc is not on the PATH. */
async function gccVersion(): Promise<string | null> {
  try {
    const { stdout } = await run('gcc', ['--version']);
    return stdout.split('\n')[0].trim();
  } catch {
    return null;
  }
}

/** The x sums of data.cjs's workloads, in float64 in index order (what bench_c prints). */
function dataChecksums(): Map<string, number> {
  const data = createRequire(import.meta.url)('../../ref/data.cjs') as {
    makeBN2d(): { x: Float32Array };
    makeBNSpatial(): { x: Float32Array };
    makeLN(): { x: Float32Array };
  };
  const sum = (x: Float32Array): number => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i];
    return s;
  };
  return new Map([
    ['W1', sum(data.makeBN2d().x)],
    ['W2', sum(data.makeBNSpatial().x)],
    ['W3', sum(data.makeLN().x)],
  ]);
}

/**
 * Checks bench_c's output: one thread on every line, its own check within `tolerance`
 * (absolute, on outputs of order 1), and its inputs the same as data.cjs's (the printed x
 * sums equal the JS sums of data.cjs's arrays to 1e-9 relative).
 *
 * @returns the problems found (empty when the run is good) and the workloads whose sums were compared
 */
export function checkCRefOutput(output: CRefOutput, tolerance: number, expectedSums: ReadonlyMap<string, number>): { problems: string[]; checked: string[] } {
  const problems: string[] = [];
  const checked: string[] = [];
  if (output.lines.length === 0) problems.push('no timing lines');
  for (const line of output.lines) {
    if (line.threads !== 1) problems.push(`${line.workload} ${line.phase}: ran with ${line.threads} threads`);
    if (!(line.maxAbsDiff <= tolerance)) problems.push(`${line.workload} ${line.phase}: maxAbsDiff ${line.maxAbsDiff} > ${tolerance}`);
  }
  for (const [workload, expected] of expectedSums) {
    const printed = output.checksums.get(workload);
    if (printed === undefined) continue;
    checked.push(workload);
    // The same generator gives the same sums to ~1e-11 relative (gcc contracts the generator's
    // `lo + (hi − lo)·u` into an FMA, so a few floats round the other way); other data would be
    // off by ~√n.
    if (!(Math.abs(printed - expected) <= 1e-9 * Math.abs(expected) + 1e-5)) {
      problems.push(`${workload}: bench_c's sum(x) = ${printed}, data.cjs's = ${expected.toFixed(6)} (different inputs)`);
    }
  }
  return { problems, checked };
}

/**
 * Compiles `ref/bench_c.c` with gcc (`-O3 -march=native -fopenmp … -lm`) into a temporary
 * directory and runs it once with `OMP_NUM_THREADS=1`; checks its output (see
 * {@link checkCRefOutput}). Without gcc, or when compiling, running or the check fails, the
 * result says why (the c-ref rows are then skipped with that message).
 *
 * @param tolerance - the largest maxAbsDiff accepted from bench_c's own check
 * @param progress - progress lines
 */
export async function runCReference(tolerance: number, progress: (text: string) => void): Promise<CRefRun> {
  const compiler = await gccVersion();
  if (compiler === null) return { ok: false, reason: 'gcc is not on the PATH' };
  const dir = mkdtempSync(join(os.tmpdir(), 'normkit-bench-c-'));
  try {
    const binary = join(dir, 'bench_c');
    const args = [...C_REF_FLAGS, C_REF_SOURCE, '-o', binary, '-lm'];
    const command = `gcc ${args.join(' ')}`;
    try {
      await run('gcc', args);
    } catch (error) {
      return { ok: false, reason: `${command} failed: ${(error as Error).message.split('\n')[0]}` };
    }
    progress(`c-ref: built with ${compiler}; running bench_c (OMP_NUM_THREADS=1)…`);
    let stdout: string;
    try {
      ({ stdout } = await run(binary, [], { env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 1 << 20 }));
    } catch (error) {
      return { ok: false, reason: `bench_c failed: ${(error as Error).message.split('\n')[0]}` };
    }
    const output = parseCRefOutput(stdout);
    const { problems, checked } = checkCRefOutput(output, tolerance, dataChecksums());
    if (problems.length > 0) return { ok: false, reason: `bench_c's output does not check: ${problems.join('; ')}` };
    // The command as reproducible from packages/bench (the temporary directory left out).
    const shown = `gcc ${C_REF_FLAGS.join(' ')} ref/bench_c.c -o bench_c -lm && OMP_NUM_THREADS=1 ./bench_c`;
    return { ok: true, output, compiler, command: shown, checksumsChecked: checked };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
