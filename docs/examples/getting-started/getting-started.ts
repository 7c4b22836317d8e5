// getting-started.ts: normalize a batch, train, backward, eval, save and load.
import { BatchNorm } from '@normkit/batch-norm';
import { NormkitError, dtypeOf, fromArray, tensorFromJSON, tensorToJSON, toTypedArray } from '@normkit/core';
import type { Dtype, Tensor, TensorJSON } from '@normkit/core';

const show = (t: Tensor | undefined) => (t === undefined ? '-' : Array.from(toTypedArray(t), (v) => v.toFixed(4)).join(' '));

// 1. A batch: 4 samples × 2 channels × 3 positions, laid out (N, C, L) as in PyTorch.
const x = fromArray(
  [1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60, 7, 8, 9, 70, 80, 90, 2, 4, 6, 20, 40, 60],
  [4, 2, 3],
  'float32',
);

// 2. A batch-norm layer with PyTorch's defaults (eps 1e-5, momentum 0.1). New layers train.
const bn = new BatchNorm({ numFeatures: 2 });
const y = bn.forward(x); // batch statistics; the running statistics move toward them
console.log('y[0, 0, :]     ', show(y.pick(0, 0, null)));
console.log('running mean   ', show(bn.runningMean));
console.log('running var    ', show(bn.runningVar)); // unbiased, as in PyTorch

// 3. Backward: dx comes back, parameter gradients accumulate in bn.grads.
const dy = fromArray(Array.from({ length: 24 }, (_, i) => (i % 5) - 2), [4, 2, 3], 'float32');
const dx = bn.backward(dy);
console.log('dx[0, 0, :]    ', show(dx.pick(0, 0, null)));
console.log('dweight, dbias ', show(bn.grads.weight), '|', show(bn.grads.bias));

// 4. One step of plain SGD on γ and β, then clear the gradients for the next batch.
for (const name of ['weight', 'bias'] as const) {
  const p = bn.params[name];
  const g = bn.grads[name];
  if (p === undefined || g === undefined) continue;
  for (let i = 0; i < p.data.length; i++) p.data[i] -= 0.1 * g.data[i];
}
bn.zeroGrad();

// 5. Eval: the running statistics normalize, and nothing changes any more.
bn.eval();
const yEval = bn.forward(x);
console.log('eval y[0, 0, :]', show(yEval.pick(0, 0, null)));

// 6. Save the state as JSON (with each tensor's dtype: the step counter is float64)
//    and load it into a fresh layer. loadStateDict checks names, shapes, dtypes, finiteness.
type Entry = TensorJSON & { dtype: Dtype };
const file = JSON.stringify(
  Object.fromEntries(Object.entries(bn.stateDict()).map(([k, t]): [string, Entry] => [k, { ...tensorToJSON(t), dtype: dtypeOf(t) }])),
);
const entries = Object.entries(JSON.parse(file) as Record<string, Entry>);
const restored = new BatchNorm({ numFeatures: 2 });
restored.loadStateDict(Object.fromEntries(entries.map(([k, v]) => [k, tensorFromJSON(v, v.dtype, k)])));
restored.eval();
console.log('restored equal ', show(restored.forward(x)) === show(yEval), '| batches seen', restored.numBatchesTracked);

// 7. Bad input throws a NormkitError with a stable code, and changes nothing.
try {
  bn.forward(fromArray([1, 2, 3], [1, 3], 'float32')); // 3 channels, but numFeatures is 2
} catch (e) {
  if (e instanceof NormkitError) console.log('error          ', e.code, '-', e.message);
}
