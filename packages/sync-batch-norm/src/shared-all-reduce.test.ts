import { errorCode } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { CollectiveError, loopbackAllReduce } from './all-reduce.js';
import { runWorkers } from './run-workers.js';
import { SharedAllReduce, SharedAllReduceGroup, connectSharedAllReduce } from './shared-all-reduce.js';

interface Posted {
  results?: Float64Array[];
  name?: string;
  kind?: string;
  origin?: number;
  message?: string;
}

const collective = new URL('../test/workers/collective.mjs', import.meta.url);

describe('SharedAllReduce (worker threads, SharedArrayBuffer, Atomics)', () => {
  it('sums in rank order: every participant gets the same bits, round after round (3 workers)', async () => {
    const results = await runWorkers<Posted>(collective, { size: 3, data: { scenario: 'sums', rounds: 4, length: 9 } });
    for (let round = 0; round < 4; round++) {
      const expected = Float64Array.from({ length: 9 }, (_, i) => {
        let s = 0;
        for (let rank = 0; rank < 3; rank++) s += (i % 2 === 0 ? 1e16 : 1) * (rank + 1) * (round + 1) + 0.1 * (i + rank);
        return s;
      });
      for (const r of results) expect(Array.from(r.results![round])).toEqual(Array.from(expected));
    }
  }, 120_000);

  it('calls out of step (different lengths) fail on every participant as a mismatch', async () => {
    const results = await runWorkers<Posted>(collective, { size: 2, data: { scenario: 'mismatch' } });
    expect(results.map((r) => r.kind)).toEqual(['mismatch', 'mismatch']);
  }, 120_000);

  it('an array longer than the capacity fails there, and aborts the others', async () => {
    const results = await runWorkers<Posted>(collective, { size: 2, capacity: 8, data: { scenario: 'capacity', capacity: 8 } });
    expect(results[0].kind).toBe('capacity');
    expect(results[1].kind).toBe('aborted');
    expect(results[1].origin).toBe(0);
  }, 120_000);

  it('a group of one sums without waiting; an aborted group refuses further calls', () => {
    const group = new SharedAllReduceGroup({ size: 1, capacity: 4 });
    const single = connectSharedAllReduce(group.handle(0));
    expect(single).toBeInstanceOf(SharedAllReduce);
    const values = Float64Array.from([1, 2]);
    single.sum(values);
    expect(Array.from(values)).toEqual([1, 2]);
    group.abort('stop');
    expect(single.aborted).toBe(true);
    let caught: unknown;
    try {
      single.sum(values);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(CollectiveError);
    expect((caught as CollectiveError).message).toBe('all-reduce: the group was aborted by the coordinator: stop');
  });

  it('refuses bad options and foreign handles (E_OPTION)', () => {
    expect(errorCode(() => new SharedAllReduceGroup({ size: 0 }))).toBe('E_OPTION');
    expect(errorCode(() => new SharedAllReduceGroup({ size: 2, capacity: 1.5 }))).toBe('E_OPTION');
    expect(errorCode(() => new SharedAllReduceGroup({ size: 2 }).handle(2))).toBe('E_OPTION');
    expect(errorCode(() => connectSharedAllReduce({ buffer: new ArrayBuffer(8), rank: 0, size: 1, capacity: 1, timeoutMs: 1 }))).toBe('E_OPTION');
    expect(errorCode(() => runWorkers(collective, { size: -1 }))).toBe('E_OPTION');
  });

  it('loopbackAllReduce: rank 0 of 1, sum leaves the values, abort does not break it', () => {
    const loop = loopbackAllReduce();
    const values = Float64Array.from([3, 4]);
    loop.abort('ignored');
    loop.sum(values);
    expect([loop.rank, loop.size, ...values]).toEqual([0, 1, 3, 4]);
  });
});
