// Replicas that fail in different ways, for src/failures.test.ts. `data.scenario` says how;
// `data.failing` is the rank that fails. Replicas that survive to a caught error post it.
import { parentPort, workerData } from 'node:worker_threads';
import { fromArray, zeros } from '@normkit/core';
import { connectSharedAllReduce, syncBatchNorm } from '@normkit/sync-batch-norm';

const { rank, data } = workerData;
const { scenario, failing } = data;
const allReduce = connectSharedAllReduce(workerData.allReduce);
const bn = syncBatchNorm.create({ numFeatures: 2, allReduce });
const { params, state } = bn.init('float64');
const x = fromArray([1, 2, 3, 4, 5, 6], [3, 2], 'float64');

const report = (e) => parentPort.postMessage({ name: e.name, kind: e.kind, origin: e.origin, code: e.code, message: e.message });

if (scenario === 'crash' && rank === failing) throw new Error('boom: the model code of this replica failed');
if (scenario === 'departed' && rank === failing) {
  parentPort.postMessage({ left: true });
} else if (scenario === 'silent' && rank === failing) {
  // never joins; waits (bounded) until the others give up on it
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 600 && !allReduce.aborted; i++) Atomics.wait(pause, 0, 0, 50);
  parentPort.postMessage({ sawAbort: allReduce.aborted });
} else {
  try {
    const input = scenario === 'bad-input' && rank === failing ? zeros([3, 5], 'float64') : x;
    const { saved } = bn.forward({ x: input, params, state, mode: 'train' });
    const dy = scenario === 'bad-backward' && rank === failing ? zeros([4, 2], 'float64') : x;
    bn.backward({ dy, params, saved });
    parentPort.postMessage({ ok: true });
  } catch (e) {
    if (scenario === 'crash') throw e; // let runWorkers see it
    report(e);
  }
}
