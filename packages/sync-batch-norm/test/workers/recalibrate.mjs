// Recalibrates (PreciseBN) a SyncBatchNorm replica from its shares of K batches: batchMoments
// is collective, so every replica gets the statistics of the whole batches. For
// src/equivalence.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { fromArray, recalibrate, toTypedArray } from '@normkit/core';
import { SyncBatchNorm, connectSharedAllReduce } from '@normkit/sync-batch-norm';

const { rank, data } = workerData;
const { rest, splits, batches } = data;
const layer = new SyncBatchNorm({ numFeatures: rest[0], allReduce: connectSharedAllReduce(workerData.allReduce) }, { dtype: 'float64' });
const inner = rest.reduce((a, b) => a * b, 1);
const start = splits.slice(0, rank).reduce((a, b) => a + b, 0);
const share = (values) => fromArray(values.subarray(start * inner, (start + splits[rank]) * inner), [splits[rank], ...rest], 'float64');
recalibrate([layer], batches.map((values) => [share(values)]));
parentPort.postMessage({ mean: toTypedArray(layer.runningMean), variance: toTypedArray(layer.runningVar) });
