// Direct calls of SharedAllReduce.sum, for src/shared-all-reduce.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { connectSharedAllReduce } from '@normkit/sync-batch-norm';

const { rank, data } = workerData;
const allReduce = connectSharedAllReduce(workerData.allReduce);
try {
  if (data.scenario === 'sums') {
    const results = [];
    for (let round = 0; round < data.rounds; round++) {
      // values whose sum depends on the order of addition
      const values = Float64Array.from({ length: data.length }, (_, i) => (i % 2 === 0 ? 1e16 : 1) * (rank + 1) * (round + 1) + 0.1 * (i + rank));
      allReduce.sum(values);
      results.push(values);
    }
    parentPort.postMessage({ results });
  } else if (data.scenario === 'mismatch') {
    allReduce.sum(new Float64Array(rank === 0 ? 3 : 4));
    parentPort.postMessage({ ok: true });
  } else if (data.scenario === 'capacity') {
    allReduce.sum(new Float64Array(rank === 0 ? data.capacity + 1 : 2));
    parentPort.postMessage({ ok: true });
  }
} catch (e) {
  parentPort.postMessage({ name: e.name, kind: e.kind, origin: e.origin, message: e.message });
}
