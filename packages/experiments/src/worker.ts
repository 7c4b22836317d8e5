import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from './data.js';
import type { Job } from './experiment.js';
import { runJob } from './experiment.js';

// One worker thread of the experiment: runs the jobs it is sent, one at a time.
const data = workerData as { train: Dataset; test: Dataset };
const port = parentPort;
if (port === null) throw new Error('worker.js must run in a worker thread');
port.on('message', (m: { index: number; job: Job }) => {
  let last = 0;
  const result = runJob(m.job, data, (done) => {
    const now = performance.now();
    if (now - last > 200) {
      last = now;
      port.postMessage({ type: 'progress', index: m.index, done });
    }
  });
  port.postMessage({ type: 'result', index: m.index, result });
});
