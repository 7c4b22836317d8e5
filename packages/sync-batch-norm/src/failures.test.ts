import { describe, expect, it } from 'vitest';
import { WorkersFailedError, runWorkers } from './run-workers.js';

/** What test/workers/failing.mjs posts for a caught error. */
interface Caught {
  name?: string;
  kind?: string;
  origin?: number;
  code?: string;
  message?: string;
  ok?: boolean;
  left?: boolean;
  sawAbort?: boolean;
}

const failing = new URL('../test/workers/failing.mjs', import.meta.url);

// No assertion here depends on time: a failure ends the others' waits through the aborted
// group; only the 'silent' case relies on the (short) bound, and it can only fire later under
// load, never not at all. Worker counts stay at 2 and 3.
describe('when one worker fails, the others get an error, never a hang', () => {
  it('bad input on rank 1 in forward: it gets E_SHAPE, ranks 0 and 2 a CollectiveError naming rank 1', async () => {
    const results = await runWorkers<Caught>(failing, { size: 3, data: { scenario: 'bad-input', failing: 1 } });
    expect(results[1].code).toBe('E_SHAPE');
    for (const rank of [0, 2]) {
      expect(results[rank].name).toBe('CollectiveError');
      expect(results[rank].kind).toBe('aborted');
      expect(results[rank].origin).toBe(1);
      expect(results[rank].message).toMatch(/aborted by rank 1: rank 1: x: expected 2 channels/);
    }
  }, 120_000);

  it('bad input on rank 0 in backward: rank 1, already in the backward all-reduce, gets a CollectiveError', async () => {
    const results = await runWorkers<Caught>(failing, { size: 2, data: { scenario: 'bad-backward', failing: 0 } });
    expect(results[0].code).toBe('E_SHAPE');
    expect(results[1].kind).toBe('aborted');
    expect(results[1].origin).toBe(0);
  }, 120_000);

  it('an uncaught error in a worker’s own code: runWorkers aborts the group and rejects with every failure', async () => {
    const error = await runWorkers(failing, { size: 2, data: { scenario: 'crash', failing: 1 } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkersFailedError);
    const failures = (error as WorkersFailedError).failures;
    expect(failures[1]).toMatch(/boom/);
    expect(failures[0]).toMatch(/aborted by rank 1: rank 1 failed: boom/);
  }, 120_000);

  it('a worker that ends without joining: the other’s call fails as departed', async () => {
    const results = await runWorkers<Caught>(failing, { size: 2, data: { scenario: 'departed', failing: 1 } });
    expect(results[1].left).toBe(true);
    expect(results[0].kind).toBe('departed');
    expect(results[0].origin).toBe(1);
  }, 120_000);

  it('a worker that never joins and never ends: the wait is bounded (timeoutMs), then the group is aborted', async () => {
    const results = await runWorkers<Caught>(failing, { size: 2, timeoutMs: 300, data: { scenario: 'silent', failing: 1 } });
    expect(results[0].kind).toBe('timeout');
    expect(results[1].sawAbort).toBe(true);
  }, 120_000);

  it('without failures the same workers finish: control case', async () => {
    const results = await runWorkers<Caught>(failing, { size: 2, data: { scenario: 'none', failing: -1 } });
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  }, 120_000);
});
