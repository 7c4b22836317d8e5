import { fromArray, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { seedReference } from '../test/seed-reference.js';
import { batchNorm } from './plugin.js';

/** max_i |a − e| / max(|e|, 1e-300) over elements with |e| ≥ 1e-6·max|e| */
function maxRelErr(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(a[i] - e[i]);
    worst = Math.max(worst, err / Math.max(Math.abs(e[i]), 1e-6 * scale));
  }
  return worst;
}

describe('the staged derivation of the seed notes and the fast kernel agree', () => {
  const shapes: [number[], number][] = [
    [[8, 3], 1],
    [[4, 3, 7], 1],
    [[2, 4, 3, 5], 1],
    [[2, 3, 2, 2, 3], 1],
    [[3, 5, 4], -1],
    [[2, 3, 3, 4], -1],
  ];
  for (const [shape, channelAxis] of shapes) {
    it(`to 1e-12 relative in float64 on ${JSON.stringify(shape)}, channelAxis ${channelAxis}`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        const axis = channelAxis < 0 ? shape.length + channelAxis : channelAxis;
        const channels = shape[axis];
        const x = randn(shape, seed, 'float64', 0.5, 2);
        const dy = randn(shape, seed + 100);
        const gamma = Array.from(randn([channels], seed + 200, 'float64', 1, 0.5).data);
        const beta = Array.from(randn([channels], seed + 300).data);
        const eps = 1e-5;
        const bn = batchNorm.create({ numFeatures: channels, channelAxis, eps });
        const { state } = bn.init('float64');
        const params = { weight: fromArray(gamma, 'float64'), bias: fromArray(beta, 'float64') };
        const fast = bn.forward({ x, params, state, mode: 'train' });
        const back = bn.backward({ dy, params, saved: fast.saved });
        const ref = seedReference(x, dy, gamma, beta, eps, axis);
        expect(maxRelErr(toTypedArray(fast.y), ref.y)).toBeLessThan(1e-12);
        expect(maxRelErr(toTypedArray(back.dx), ref.dx)).toBeLessThan(1e-12);
        expect(maxRelErr(toTypedArray(back.grads.weight!), ref.dgamma)).toBeLessThan(1e-12);
        expect(maxRelErr(toTypedArray(back.grads.bias!), ref.dbeta)).toBeLessThan(1e-12);
      }
    });
  }

  // The same comparison on views that are not row-major, so the strided walk of every kernel
  // meets the staged reference too (the reference reads through .get, whatever the strides).
  const views: [string, number[], (t: Tensor) => Tensor, number][] = [
    ['transposed: (N, L, C) stored, seen as (N, C, L)', [4, 7, 3], (t) => t.transpose(0, 2, 1), 1],
    ['reversed on every axis', [5, 3, 4], (t) => t.step(-1, -1, -1), 1],
    ['every other sample, channels last', [8, 3, 5], (t) => t.step(2, 1, 1), -1],
  ];
  for (const [name, baseShape, view, channelAxis] of views) {
    it(`to 1e-12 relative in float64 on a strided view: ${name}`, () => {
      for (let seed = 1; seed <= 3; seed++) {
        const x = view(randn(baseShape, seed, 'float64', 0.5, 2));
        const dy = view(randn(baseShape, seed + 100));
        const axis = channelAxis < 0 ? x.shape.length + channelAxis : channelAxis;
        const channels = x.shape[axis];
        const gamma = Array.from(randn([channels], seed + 200, 'float64', 1, 0.5).data);
        const beta = Array.from(randn([channels], seed + 300).data);
        const bn = batchNorm.create({ numFeatures: channels, channelAxis });
        const params = { weight: fromArray(gamma, 'float64'), bias: fromArray(beta, 'float64') };
        const fast = bn.forward({ x, params, state: bn.init('float64').state, mode: 'train' });
        const back = bn.backward({ dy, params, saved: fast.saved });
        const ref = seedReference(x, dy, gamma, beta, 1e-5, axis);
        expect(maxRelErr(toTypedArray(fast.y), ref.y)).toBeLessThan(1e-12);
        expect(maxRelErr(toTypedArray(back.dx), ref.dx)).toBeLessThan(1e-12);
        expect(maxRelErr(toTypedArray(back.grads.weight!), ref.dgamma)).toBeLessThan(1e-12);
        expect(maxRelErr(toTypedArray(back.grads.bias!), ref.dbeta)).toBeLessThan(1e-12);
      }
    });
  }
});
