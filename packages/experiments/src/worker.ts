import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from './data.js';
import type { RunConfig } from './train.js';
import { trainRun } from './train.js';

// One worker thread of the experiment: trains the runs it is sent, one at a time.
const data = workerData as { train: Dataset; test: Dataset };
const port = parentPort;
if (port === null) throw new Error('worker.js must run in a worker thread');
port.on('message', (m: { index: number; config: RunConfig }) => {
  let last = 0;
  const result = trainRun(m.config, data, (done) => {
    const now = performance.now();
    if (now - last > 200) {
      last = now;
      port.postMessage({ type: 'progress', index: m.index, done });
    }
  });
  port.postMessage({ type: 'result', index: m.index, result });
});
