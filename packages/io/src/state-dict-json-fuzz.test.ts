import type { Tensor } from '@normkit/core';
import { NormkitError, fromArray, sizeOf, zeros } from '@normkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stateDictFromJSON } from './state-dict-from-json.js';
import { STATE_DICT_JSON_FORMAT } from './state-dict-json-format.js';
import { stateDictToJSON } from './state-dict-to-json.js';

const SEED = 20240918;

const SEEDS: string[] = [
  stateDictToJSON({}),
  stateDictToJSON({
    w: fromArray([1, 0.1, -0, NaN], [2, 2], 'float32'),
    n: fromArray([3], [], 'float64'),
    e: zeros([0, 3], 'float64'),
    s: fromArray([-Infinity, 1e-300], [2], 'float64'),
  }),
];

/** Only E_FORMAT may come out; a returned state dict writes back to text that reads the same. */
function readsCleanly(text: string): boolean {
  let sd: Record<string, Tensor>;
  try {
    sd = stateDictFromJSON(text);
  } catch (e) {
    if (e instanceof NormkitError && e.code === 'E_FORMAT') return true;
    throw e;
  }
  for (const t of Object.values(sd)) expect(t.data.length).toBe(sizeOf(t.shape));
  const again = stateDictToJSON(sd);
  expect(stateDictToJSON(stateDictFromJSON(again))).toBe(again);
  return true;
}

type Edit = { kind: 'replace' | 'insert' | 'delete'; at: number; text: string };

const PIECES = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '0', '1e999', 'NaN', '"NaN"', 'null', ' ', 'float32', 'float64', '"a"', 'é', '\ud800'];
const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom('replace' as const, 'insert' as const, 'delete' as const),
  at: fc.nat(),
  text: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 3 })),
});

function applyEdits(source: string, edits: readonly Edit[]): string {
  let text = source;
  for (const e of edits) {
    const at = e.at % (text.length + 1);
    if (e.kind === 'insert') text = text.slice(0, at) + e.text + text.slice(at);
    else if (e.kind === 'delete') text = text.slice(0, at) + text.slice(at + e.text.length + 1);
    else text = text.slice(0, at) + e.text + text.slice(at + e.text.length);
  }
  return text;
}

const plausibleDocument: fc.Arbitrary<string> = fc
  .dictionary(
    fc.string({ maxLength: 4 }),
    fc.record({
      dtype: fc.constantFrom('float32', 'float64', 'int64'),
      shape: fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }),
      data: fc.array(fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', '-Infinity', 'inf'), fc.constant(null)), { maxLength: 9 }),
    }),
    { maxKeys: 3 },
  )
  .map((tensors) => JSON.stringify({ format: STATE_DICT_JSON_FORMAT, version: 1, tensors }));

describe('stateDictFromJSON under fuzzing: only E_FORMAT errors, never a crash', () => {
  it('the seed documents are valid', () => {
    for (const text of SEEDS) expect(readsCleanly(text)).toBe(true);
    expect(Object.keys(stateDictFromJSON(SEEDS[1]))).toEqual(['w', 'n', 'e', 's']);
  });

  it('valid documents with characters replaced, inserted and deleted', () => {
    const edited = fc.tuple(fc.constantFrom(...SEEDS), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => applyEdits(text, edits));
    fc.assert(fc.property(edited, readsCleanly), { seed: SEED, numRuns: 2000 });
  });

  it('documents of plausible entries with random dtypes, shapes and values', () => {
    fc.assert(fc.property(plausibleDocument, readsCleanly), { seed: SEED + 1, numRuns: 1000 });
  });

  it('random JSON values and random strings', () => {
    const text = fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 40 }));
    fc.assert(fc.property(text, readsCleanly), { seed: SEED + 2, numRuns: 1000 });
  });
});
