// One data-parallel replica: runs sync batch norm on its share (samples along axis 0) of
// every step's batch, in train mode (and one eval call at the end), and posts what it
// computed. Used by src/equivalence.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { fromArray, toTypedArray } from '@normkit/core';
import { connectSharedAllReduce, syncBatchNorm } from '@normkit/sync-batch-norm';

const { rank, data } = workerData;
const allReduce = connectSharedAllReduce(workerData.allReduce);
const { options, rest, splits, steps, params, dtype } = data;
const bn = syncBatchNorm.create({ ...options, allReduce });
const inner = rest.reduce((a, b) => a * b, 1);
const start = splits.slice(0, rank).reduce((a, b) => a + b, 0);
const count = splits[rank];
const share = (values) => fromArray(values.subarray(start * inner, (start + count) * inner), [count, ...rest], dtype);
const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, fromArray(v, [v.length], dtype)]));
let { state } = bn.init(dtype);
const out = [];
for (const step of steps) {
  const { y, state: next, saved } = bn.forward({ x: share(step.x), params: p, state, mode: 'train' });
  state = next;
  const { dx, grads } = bn.backward({ dy: share(step.dy), params: p, saved });
  out.push({ y: toTypedArray(y), dx: toTypedArray(dx), grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, toTypedArray(g)])) });
}
const evalY = toTypedArray(bn.forward({ x: share(steps[0].x), params: p, state, mode: 'eval' }).y);
parentPort.postMessage({ steps: out, state: Object.fromEntries(Object.entries(state).map(([k, t]) => [k, toTypedArray(t)])), evalY });
