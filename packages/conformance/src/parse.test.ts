import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NormkitError } from '@normkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadCase, loadCases, vectorsDir } from './load.js';
import { parseCase, sortCases } from './parse.js';

function errorOf(fn: () => unknown): NormkitError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  return undefined;
}

describe('parseCase: the loader without a file system (for bundled pages)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives exactly what loadCase gives, for every shipped vector', () => {
    const names = readdirSync(vectorsDir).filter((f) => f.endsWith('.json'));
    expect(names.length).toBeGreaterThan(40);
    const parsed = sortCases(names.map((name) => parseCase(JSON.parse(readFileSync(join(vectorsDir, name), 'utf8')), name)));
    expect(parsed).toEqual(loadCases());
    expect(parsed.map((c) => c.id)).toEqual([...parsed.map((c) => c.id)].sort());
  });

  it('refuses what is not a case with E_STATE naming the source', () => {
    expect(errorOf(() => parseCase([1, 2], 'list.json'))?.message).toBe('list.json: malformed case: not a JSON object');
    expect(errorOf(() => parseCase({ id: 'x', layer: 'conv', mode: 'train', expectError: false, options: {} }, 'u.json'))?.code).toBe('E_STATE');
  });

  it('off Node (no process.getBuiltinModule), loadCase and loadCases throw E_STATE pointing at parseCase', () => {
    vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never);
    for (const call of [() => loadCases(), () => loadCase(join(vectorsDir, 'batchnorm-eval-2d-001.json'))]) {
      const e = errorOf(call);
      expect(e?.code).toBe('E_STATE');
      expect(e?.message).toMatch(/needs Node's file system, which this host lacks \(a browser\); parse the JSON you import or fetch with parseCase$/);
    }
  });
});
