import { NormkitError } from '@normkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWasmBackend, enableWasm } from './enable.js';

describe('the two-thread path is Node-only', () => {
  afterEach(() => vi.restoreAllMocks());

  it('threads: 2 without worker_threads (a browser) throws E_OPTION naming threads, before reserving any memory', async () => {
    const getBuiltin = vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never);
    for (const start of [() => createWasmBackend({ threads: 2 }), () => enableWasm({ threads: 2 })]) {
      const error = await start().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NormkitError);
      expect((error as NormkitError).code).toBe('E_OPTION');
      expect((error as NormkitError).message).toBe(
        "threads: 2 runs the second thread on Node's worker_threads, which this host lacks (a browser); use threads: 1 there",
      );
    }
    expect(getBuiltin).toHaveBeenCalledWith('node:worker_threads');
  });
});
