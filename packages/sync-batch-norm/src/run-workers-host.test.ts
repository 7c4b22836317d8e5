import { NormkitError } from '@normkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runWorkers } from './run-workers.js';

describe('runWorkers is Node-only', () => {
  afterEach(() => vi.restoreAllMocks());

  it('without worker_threads (a browser) it throws E_OPTION synchronously, starting nothing', () => {
    const getBuiltin = vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never);
    let error: unknown = null;
    try {
      void runWorkers(new URL('../test/workers/failing.mjs', import.meta.url), { size: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NormkitError);
    expect((error as NormkitError).code).toBe('E_OPTION');
    expect((error as NormkitError).message).toBe("runWorkers: needs Node's worker_threads, which this host lacks (a browser); run the layers in one thread there");
    expect(getBuiltin).toHaveBeenCalledWith('node:worker_threads');
  });
});
