import {
  doubleBackwardReference,
  fromArray,
  hessianVectorProduct,
  planNormalization,
  squaredErrorLoss,
  toContiguous,
  toTypedArray,
  viewOf,
  zeros,
} from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { batchNorm } from './plugin.js';

/** max|a − e| / max(1, max|e|). */
function scaledError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / scale);
  return worst;
}

const values = (t: Tensor) => Array.from(toTypedArray(t));

function setup(shape: number[], channelAxis = 1, seed = 1) {
  const axis = channelAxis < 0 ? shape.length + channelAxis : channelAxis;
  const channels = shape[axis];
  const bn = batchNorm.create({ numFeatures: channels, channelAxis });
  const params = { weight: randn([channels], seed + 10, 'float64', 1, 0.5), bias: randn([channels], seed + 11) };
  const x = randn(shape, seed, 'float64', 0.5, 2);
  const dy = randn(shape, seed + 1);
  const ddx = randn(shape, seed + 2);
  const dgrads = { weight: randn([channels], seed + 3), bias: randn([channels], seed + 4) };
  return { bn, axis, channels, params, x, dy, ddx, dgrads };
}

describe('batch norm doubleBackward', () => {
  // The fast path (engine kernels, collapsed formulas) against core's staged reference (the
  // backward graph differentiated node by node): 1e-12 of the scale, float64.
  for (const [shape, channelAxis] of [
    [[6, 3], 1],
    [[3, 2, 3, 3], 1],
    [[2, 4, 3], -1],
  ] as [number[], number][]) {
    it(`train: equals the staged reference on ${JSON.stringify(shape)}, channelAxis ${channelAxis}`, () => {
      const { bn, axis, params, x, dy, ddx, dgrads } = setup(shape, channelAxis);
      const { state } = bn.init('float64');
      const forward = bn.forward({ x, params, state, mode: 'train' });
      const second = bn.doubleBackward!({ dy, params, saved: forward.saved, ddx, dgrads });
      const plan = planNormalization(shape, [axis], [axis]);
      const cotangents = { ddx: viewOf(ddx), dgradWeight: toTypedArray(dgrads.weight) as Float64Array, dgradBias: toTypedArray(dgrads.bias) as Float64Array };
      const ref = doubleBackwardReference(viewOf(x), viewOf(dy), plan, forward.saved, toTypedArray(params.weight) as Float64Array, cotangents, { centered: true, batchStats: true });
      expect(scaledError(toTypedArray(second.dx), ref.dx)).toBeLessThan(1e-12);
      expect(scaledError(toTypedArray(second.ddy), ref.ddy)).toBeLessThan(1e-12);
      expect(scaledError(toTypedArray(second.grads.weight!), ref.weightGrad!)).toBeLessThan(1e-12);
      expect(values(second.grads.bias!).every((v) => v === 0)).toBe(true);
    });
  }

  it('eval with running statistics: the closed form ∂S/∂x = sΓ·dy, ∂S/∂dy = sγa + Γx̂ + B, ∂S/∂γ = Σ s·a·dy', () => {
    const { bn, params, x, dy, ddx, dgrads } = setup([4, 3, 2]);
    const state = { runningMean: fromArray([0.2, -0.1, 0.4], 'float64'), runningVar: fromArray([1.5, 0.7, 2.0], 'float64'), numBatchesTracked: fromArray([3], [], 'float64') };
    const { saved } = bn.forward({ x, params, state, mode: 'eval' });
    const second = bn.doubleBackward!({ dy, params, saved, ddx, dgrads });
    const s = [1.5, 0.7, 2.0].map((v) => 1 / Math.sqrt(v + 1e-5));
    const mean = [0.2, -0.1, 0.4];
    const expectedDx: number[] = [];
    const expectedDdy: number[] = [];
    const expectedWeight = [0, 0, 0];
    for (let n = 0; n < 4; n++) {
      for (let c = 0; c < 3; c++) {
        for (let l = 0; l < 2; l++) {
          const [xi, gi, ai] = [x.get(n, c, l), dy.get(n, c, l), ddx.get(n, c, l)];
          const xhat = (xi - mean[c]) * s[c];
          expectedDx.push(s[c] * dgrads.weight.get(c) * gi);
          expectedDdy.push(s[c] * params.weight.get(c) * ai + dgrads.weight.get(c) * xhat + dgrads.bias.get(c));
          expectedWeight[c] += s[c] * ai * gi;
        }
      }
    }
    expect(scaledError(toTypedArray(second.dx), expectedDx)).toBeLessThan(1e-14);
    expect(scaledError(toTypedArray(second.ddy), expectedDdy)).toBeLessThan(1e-14);
    expect(scaledError(toTypedArray(second.grads.weight!), expectedWeight)).toBeLessThan(1e-14);
  });

  it('without affine parameters: no gradients, and ∂S/∂dy is the JVP of y = x̂', () => {
    const bn = batchNorm.create({ numFeatures: 3, affine: false, trackRunningStats: false });
    const x = randn([5, 3], 1);
    const ddx = randn([5, 3], 2);
    const { saved } = bn.forward({ x, params: {}, state: {}, mode: 'train' });
    const second = bn.doubleBackward!({ dy: randn([5, 3], 3), params: {}, saved, ddx });
    expect(second.grads).toEqual({});
    // the JVP of x̂ along a, by a central difference of forward
    const h = 1e-6;
    const at = (t: number) => values(bn.forward({ x: fromArray(values(x).map((v, i) => v + t * toTypedArray(ddx)[i]), [5, 3], 'float64'), params: {}, state: {}, mode: 'train' }).y);
    const plus = at(h);
    const minus = at(-h);
    expect(scaledError(toTypedArray(second.ddy), plus.map((p, i) => (p - minus[i]) / (2 * h)))).toBeLessThan(1e-8);
  });

  it('float32: outputs in float32, equal to the float64 result rounded (2⁻²³ of the scale)', () => {
    const { bn, params, x, dy, ddx, dgrads } = setup([4, 3, 5]);
    const to32 = (t: Tensor) => toContiguous(t, 'float32');
    const x32 = to32(x);
    const p32 = { weight: to32(params.weight), bias: to32(params.bias) };
    const f64 = bn.forward({ x: toContiguous(x32, 'float64'), params: { weight: toContiguous(p32.weight, 'float64'), bias: toContiguous(p32.bias, 'float64') }, state: bn.init('float64').state, mode: 'train' });
    const f32 = bn.forward({ x: x32, params: p32, state: bn.init('float32').state, mode: 'train' });
    const dy32 = to32(dy);
    const ddx32 = to32(ddx);
    const second32 = bn.doubleBackward!({ dy: dy32, params: p32, saved: f32.saved, ddx: ddx32, dgrads: { weight: to32(dgrads.weight) } });
    const second64 = bn.doubleBackward!({
      dy: toContiguous(dy32, 'float64'),
      params: { weight: toContiguous(p32.weight, 'float64'), bias: toContiguous(p32.bias, 'float64') },
      saved: f64.saved,
      ddx: toContiguous(ddx32, 'float64'),
      dgrads: { weight: toContiguous(to32(dgrads.weight), 'float64') },
    });
    for (const [a, b] of [
      [second32.dx, second64.dx],
      [second32.ddy, second64.ddy],
      [second32.grads.weight!, second64.grads.weight!],
    ]) {
      expect(toTypedArray(a)).toBeInstanceOf(Float32Array);
      expect(scaledError(toTypedArray(a), toTypedArray(b))).toBeLessThan(2 ** -23);
    }
  });

  it('refuses bad cotangents with stable codes and changes nothing', () => {
    const { bn, params, x, dy, ddx } = setup([4, 3]);
    const { saved } = bn.forward({ x, params, state: bn.init('float64').state, mode: 'train' });
    const before = [values(x), values(dy), values(ddx), values(params.weight)];
    expect(errorCode(() => bn.doubleBackward!({ dy, params, saved, ddx: zeros([3, 4], 'float64') }))).toBe('E_SHAPE');
    expect(errorCode(() => bn.doubleBackward!({ dy, params, saved, ddx, dgrads: { runningMean: zeros([3], 'float64') } as never }))).toBe('E_STATE');
    expect(errorCode(() => bn.doubleBackward!({ dy, params, saved, ddx, dgrads: { weight: zeros([4], 'float64') } }))).toBe('E_SHAPE');
    expect(errorCode(() => bn.doubleBackward!({ dy: zeros([4, 2], 'float64'), params, saved, ddx }))).toBe('E_SHAPE');
    expect(errorCode(() => bn.doubleBackward!({ dy, params, saved: {} as never, ddx }))).toBe('E_STATE');
    bn.doubleBackward!({ dy, params, saved, ddx });
    expect([values(x), values(dy), values(ddx), values(params.weight)]).toEqual(before);
  });

  it('gives exact Hessian–vector products through core hessianVectorProduct (vs central differences of the gradient)', () => {
    const { bn, params, x, ddx, dgrads } = setup([5, 3, 2], 1, 7);
    const state = bn.init('float64').state;
    const target = randn([5, 3, 2], 20);
    const loss = squaredErrorLoss(target);
    const direction = { x: ddx, params: dgrads };
    const hv = hessianVectorProduct(bn, { x, params, state, mode: 'train', loss, direction });
    const flat = (r: { x: Tensor; params: { weight?: Tensor; bias?: Tensor } }) => [...values(r.x), ...values(r.params.weight!), ...values(r.params.bias!)];
    const gradientAt = (t: number) => {
      const shift = (a: Tensor, d: Tensor) => fromArray(values(a).map((v, i) => v + t * toTypedArray(d)[i]), a.shape, 'float64');
      const ps = { weight: shift(params.weight, dgrads.weight), bias: shift(params.bias, dgrads.bias) };
      const f = bn.forward({ x: shift(x, ddx), params: ps, state, mode: 'train' });
      const b = bn.backward({ dy: loss.gradient(f.y), params: ps, saved: f.saved });
      return flat({ x: b.dx, params: b.grads });
    };
    const h = 1e-5;
    const plus = gradientAt(h);
    const minus = gradientAt(-h);
    expect(scaledError(flat(hv), plus.map((p, i) => (p - minus[i]) / (2 * h)))).toBeLessThan(1e-7);
  });
});
