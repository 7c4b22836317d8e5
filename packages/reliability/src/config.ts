import fc from 'fast-check';

/**
 * Fixed-seed versus fuzz mode for every property in this package.
 *
 * - Default (`npm test`): every property runs with a seed derived from {@link FIXED_SEED}
 *   and its own name, and a moderate number of runs: the same cases on every machine.
 * - `NORMKIT_FUZZ=1` (`npm run test:fuzz`): a random base seed, printed once per test
 *   file, and {@link FUZZ_FACTOR}× the runs.
 * - `NORMKIT_SEED=<n>` replays a base seed (in either mode): the seed printed by a fuzz
 *   run reproduces every case of that run.
 */
export const FIXED_SEED = 20_251_125;

/** How many times more runs a property gets in fuzz mode. */
export const FUZZ_FACTOR = 20;

function envFlag(name: string): boolean {
  const value = process.env[name];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** Is this a fuzz run (`NORMKIT_FUZZ` set)? */
export const FUZZ = envFlag('NORMKIT_FUZZ');

function parseSeed(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`NORMKIT_SEED: expected an integer, got ${JSON.stringify(text)}`);
  return n | 0;
}

const replay = parseSeed(process.env.NORMKIT_SEED);

/** The base seed of this process: `NORMKIT_SEED`, else random in fuzz mode, else {@link FIXED_SEED}. */
export const BASE_SEED: number = replay ?? (FUZZ ? (Math.random() * 0x7fffffff) | 0 : FIXED_SEED);

let announced = false;

/** Prints the base seed once per test file (always in fuzz mode, and when replaying). */
export function announceSeed(file: string): void {
  if (announced) return;
  announced = true;
  if (FUZZ || replay !== null) {
    console.log(
      `[normkit reliability] ${file}: ${FUZZ ? 'FUZZ' : 'fixed'} mode, base seed ${BASE_SEED} ` +
        `(replay: NORMKIT_SEED=${BASE_SEED}${FUZZ ? ' NORMKIT_FUZZ=1' : ''} npx vitest run ${file})`,
    );
  }
}

/** A 32-bit FNV-1a hash, to derive a per-property seed from its name. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The fast-check parameters of one property: its seed and number of runs. */
export function propertyParameters(name: string, runs: number): { seed: number; numRuns: number } {
  return { seed: (BASE_SEED ^ hashString(name)) | 0, numRuns: FUZZ ? runs * FUZZ_FACTOR : runs };
}

const counts = new Map<string, number>();

/** How many cases each property of this process ran, by name. */
export function propertyCounts(): ReadonlyMap<string, number> {
  return counts;
}

/** Total property cases run in this process (worker). */
export function totalCases(): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}

/**
 * Runs one property: `fc.assert` with the seed and run count of {@link propertyParameters},
 * counting the cases that ran. The predicate throws (or returns false) on failure; the
 * shrunk counterexample, the seed and the replay path are in the error.
 */
export function checkProperty<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => boolean | void, runs: number): void {
  const params = propertyParameters(name, runs);
  let ran = 0;
  try {
    fc.assert(
      fc.property(arbitrary, (value) => {
        ran++;
        return predicate(value);
      }),
      { ...params, endOnFailure: false },
    );
  } finally {
    counts.set(name, (counts.get(name) ?? 0) + ran);
  }
}

/** A one-line summary of the cases run, for the end of a test file. */
export function casesSummary(file: string): string {
  const parts = [...counts.entries()].map(([name, n]) => `${name}=${n}`);
  return `[normkit reliability] ${file}: ${totalCases()} property cases (${FUZZ ? 'fuzz' : 'fixed seed'}; base seed ${BASE_SEED}) — ${parts.join(', ')}`;
}
