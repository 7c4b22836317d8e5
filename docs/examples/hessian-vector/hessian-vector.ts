// hessian-vector.ts: exact Hessian–vector products of a loss through batch norm.
import { batchNorm } from '@normkit/batch-norm';
import { fromArray, hessianVectorProduct, squaredErrorLoss, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';

const show = (t: Tensor | undefined) => (t === undefined ? '-' : Array.from(toTypedArray(t), (v) => v.toFixed(4)).join(' '));

// The point: a (4, 2) batch, γ and β, and the loss L = ½‖y − target‖².
const bn = batchNorm.create({ numFeatures: 2 });
const { state } = bn.init('float64');
const x = fromArray([0.5, -1, 2, 0.3, -0.7, 1.2, 1.5, -0.4], [4, 2], 'float64');
const params = { weight: fromArray([1.5, -0.5], 'float64'), bias: fromArray([0.1, 0.2], 'float64') };
const loss = squaredErrorLoss(fromArray([1, 0, -1, 0.5, 0, -0.5, 1, 1], [4, 2], 'float64'));

// The direction v: one part per input (a parameter part left out counts as zero).
const direction = {
  x: fromArray([1, 0, 0, 0, -1, 0, 0, 1], [4, 2], 'float64'),
  params: { weight: fromArray([0.5, 0.5], 'float64'), bias: fromArray([1, -1], 'float64') },
};

// H·v from one forward, one doubleBackward and two backward calls: no finite differences.
const hv = hessianVectorProduct(bn, { x, params, state, mode: 'train', loss, direction });
console.log('(H v)_x        ', show(hv.x));
console.log('(H v)_weight   ', show(hv.params.weight), '| (H v)_bias', show(hv.params.bias));

// The same product by central differences of the gradient along v, for comparison.
const at = (t: number) => {
  const move = (a: Tensor, d: Tensor | undefined) => fromArray(Array.from(toTypedArray(a), (v, i) => v + t * (d === undefined ? 0 : toTypedArray(d)[i])), a.shape, 'float64');
  const p = { weight: move(params.weight, direction.params.weight), bias: move(params.bias, direction.params.bias) };
  const f = bn.forward({ x: move(x, direction.x), params: p, state, mode: 'train' });
  const b = bn.backward({ dy: loss.gradient(f.y), params: p, saved: f.saved });
  return [...toTypedArray(b.dx), ...toTypedArray(b.grads.weight!), ...toTypedArray(b.grads.bias!)];
};
const h = 1e-5;
const plus = at(h);
const minus = at(-h);
const exact = [...toTypedArray(hv.x), ...toTypedArray(hv.params.weight!), ...toTypedArray(hv.params.bias!)];
const worst = Math.max(...exact.map((v, i) => Math.abs(v - (plus[i] - minus[i]) / (2 * h))));
console.log('differences agree to 1e-8:', worst < 1e-8);
