// getting-started.ts: normalize a batch, train, backward, eval, save and load.
import { BatchNorm, NormkitError, dtypeOf, formatTensor, fromArray, tensor, toArray } from '@normkit/batch-norm';
import type { Dtype, NestedNumbers } from '@normkit/batch-norm';

// 1. A batch: 4 samples × 2 channels × 3 positions, laid out (N, C, L) as in PyTorch; float32.
const x = tensor([
  [[1, 2, 3], [10, 20, 30]],
  [[4, 5, 6], [40, 50, 60]],
  [[7, 8, 9], [70, 80, 90]],
  [[2, 4, 6], [20, 40, 60]],
]);

// 2. A batch-norm layer with PyTorch's defaults (eps 1e-5, momentum 0.1). New layers train.
const bn = new BatchNorm({ numFeatures: 2 });
const y = bn.forward(x); // batch statistics; the running statistics move toward them
console.log('y[0, 0, :]     ', formatTensor(y.pick(0, 0, null)));
console.log('running mean   ', formatTensor(bn.runningMean));
console.log('running var    ', formatTensor(bn.runningVar)); // unbiased, as in PyTorch

// 3. Backward: dx comes back, parameter gradients accumulate in bn.grads.
const dy = fromArray(Array.from({ length: 24 }, (_, i) => (i % 5) - 2), [4, 2, 3]);
const dx = bn.backward(dy); // once per forward call, as in PyTorch
console.log('dx[0, 0, :]    ', formatTensor(dx.pick(0, 0, null)));
console.log('dweight, dbias ', formatTensor(bn.grads.weight), formatTensor(bn.grads.bias));

// 4. One step of plain SGD on γ and β, then clear the gradients for the next batch.
for (const name of ['weight', 'bias'] as const) {
  const p = bn.params[name];
  const g = bn.grads[name];
  for (let i = 0; i < p.data.length; i++) p.data[i] -= 0.1 * g.data[i];
}
bn.zeroGrad();

// 5. Eval: the running statistics normalize, and nothing changes any more.
bn.eval();
const yEval = bn.forward(x);
console.log('eval y[0, 0, :]', formatTensor(yEval.pick(0, 0, null)));

// 6. Save the state as JSON (each tensor's dtype and values: the step counter is float64)
//    and load it into a fresh layer. loadStateDict checks names, shapes, dtypes, finiteness.
type Entry = { dtype: Dtype; values: NestedNumbers };
const file = JSON.stringify(Object.fromEntries(Object.entries(bn.stateDict()).map(([k, t]) => [k, { dtype: dtypeOf(t), values: toArray(t) }])));
const entries = Object.entries(JSON.parse(file) as Record<string, Entry>);
const restored = new BatchNorm({ numFeatures: 2 });
restored.loadStateDict(Object.fromEntries(entries.map(([k, e]) => [k, tensor(e.values, e.dtype)])));
restored.eval();
console.log('restored equal ', formatTensor(restored.forward(x)) === formatTensor(yEval), '| batches seen', restored.numBatchesTracked);

// 7. Bad input throws a NormkitError with a stable code, and changes nothing.
try {
  bn.forward(tensor([[1, 2, 3]])); // 3 channels, but numFeatures is 2
} catch (e) {
  if (e instanceof NormkitError) console.log('error          ', e.code, '-', e.message);
}
