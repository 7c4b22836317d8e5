import { describe, expect, it } from 'vitest';
import { normalizeDoubleBackward } from './engine/double-backward.js';
import { batchStatistics, normalizeBackward, normalizeForward } from './engine/ops.js';
import { planNormalization } from './engine/plan.js';
import { viewOf } from './engine/view.js';
import { NormkitError } from './errors.js';
import { hessianVectorProduct, linearLoss, squaredErrorLoss } from './hessian.js';
import type { TwiceDifferentiableLoss } from './hessian.js';
import { defineNormalizer } from './normalizer.js';
import type { NormalizerTypes, TensorMap } from './normalizer.js';
import type { NormSaved } from './saved.js';
import type { Tensor } from './tensor.js';
import { fromArray, toTypedArray, zeros } from './tensor.js';
import { checkBackward, checkDoubleBackward, checkForward, float64Values, outputOf } from './validate.js';

interface RowNormTypes extends NormalizerTypes {
  InputOptions: { features: number; second?: boolean };
  Options: { features: number; second: boolean };
  Params: 'weight' | 'bias';
  State: never;
  Saved: NormSaved;
}

/** Layer norm over the last axis on the engine, with the second-order member unless `second: false`. */
const rowNorm = defineNormalizer<RowNormTypes>({
  meta: { name: 'row-norm', version: '0.0.0', description: 'layer norm over the last axis', formula: 'y = \\hat x \\gamma + \\beta' },
  modes: ['train'],
  exampleOptions: [{ features: 4 }],
  resolveOptions: (input) => ({ features: input?.features ?? 4, second: input?.second ?? true }),
  bind(options) {
    const f = options.features;
    const spec = { plugin: 'row-norm', paramShapes: { weight: [f], bias: [f] }, stateShapes: {} };
    const planOf = (shape: readonly number[]) => planNormalization(shape, [0], [1]);
    const methods = {
      paramShapes: () => spec.paramShapes,
      stateShapes: () => ({}),
      init: () => ({ params: { weight: fromArray(new Array(f).fill(1), 'float64'), bias: zeros([f], 'float64') }, state: {} }),
      exampleShapes: () => [[3, f]],
      forward(args: { x: Tensor; params: TensorMap<'weight' | 'bias'>; state: TensorMap<never>; mode: 'train' | 'eval' }) {
        const { x, params } = checkForward(args, spec);
        const plan = planOf(x.shape);
        const stats = batchStatistics(viewOf(x), plan, true, 1e-5);
        const y = outputOf(undefined, x.shape, 'float64');
        normalizeForward(viewOf(x), plan, stats, float64Values(params.weight), float64Values(params.bias), viewOf(y));
        return { y, state: {}, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true } };
      },
      backward(args: { dy: Tensor; params: TensorMap<'weight' | 'bias'>; saved: NormSaved }) {
        const { x } = args.saved;
        const { dy, params } = checkBackward(args, x, spec);
        const dx = outputOf(undefined, x.shape, 'float64');
        const sums = normalizeBackward(viewOf(x), viewOf(dy), planOf(x.shape), args.saved, float64Values(params.weight), { centered: true, batchStats: true }, viewOf(dx));
        return { dx, grads: { weight: fromArray(sums!.sumDyXhat, 'float64'), bias: fromArray(sums!.sumDy, 'float64') } };
      },
    };
    if (!options.second) return methods;
    return {
      ...methods,
      doubleBackward(args: { dy: Tensor; params: TensorMap<'weight' | 'bias'>; saved: NormSaved; ddx: Tensor; dgrads?: TensorMap<'weight' | 'bias'> }) {
        const { x } = args.saved;
        const { dy, params, ddx, dgrads } = checkDoubleBackward(args, x, spec);
        const dx = outputOf(undefined, x.shape, 'float64');
        const ddy = outputOf(undefined, x.shape, 'float64');
        const cotangents = {
          ddx: viewOf(ddx),
          dgradWeight: dgrads.weight === undefined ? null : float64Values(dgrads.weight),
          dgradBias: dgrads.bias === undefined ? null : float64Values(dgrads.bias),
        };
        const plan = planOf(x.shape);
        const weightGrad = normalizeDoubleBackward(viewOf(x), viewOf(dy), plan, args.saved, float64Values(params.weight), cotangents, { centered: true, batchStats: true }, viewOf(dx), viewOf(ddy));
        return { dx, ddy, grads: { weight: fromArray(weightGrad!, 'float64'), bias: zeros([f], 'float64') } };
      },
    };
  },
});

function normals(n: number, seed: number, mean = 0, std = 1): number[] {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => mean + std * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

const shape = [3, 4];
const x = fromArray(normals(12, 1, 0.5, 2), shape, 'float64');
const params = { weight: fromArray(normals(4, 2, 1, 0.5), 'float64'), bias: fromArray(normals(4, 3), 'float64') };
const target = fromArray(normals(12, 4), shape, 'float64');
const direction = { x: fromArray(normals(12, 5), shape, 'float64'), params: { weight: fromArray(normals(4, 6), 'float64'), bias: fromArray(normals(4, 7), 'float64') } };
const bound = rowNorm.create({ features: 4 });

/** The gradient of L at (x + t·vx, θ + t·vθ), flat: x part, then weight, then bias. */
function gradientAt(loss: TwiceDifferentiableLoss, t: number, v: typeof direction): Float64Array {
  const shift = (a: Tensor, d: Tensor) => fromArray(Array.from(toTypedArray(a), (value, i) => value + t * toTypedArray(d)[i]), a.shape, 'float64');
  const xs = shift(x, v.x);
  const ps = { weight: shift(params.weight, v.params.weight), bias: shift(params.bias, v.params.bias) };
  const forward = bound.forward({ x: xs, params: ps, state: {}, mode: 'train' });
  const back = bound.backward({ dy: loss.gradient(forward.y), params: ps, saved: forward.saved });
  return Float64Array.from([...toTypedArray(back.dx), ...toTypedArray(back.grads.weight!), ...toTypedArray(back.grads.bias!)]);
}

function flat(result: { x: Tensor; params: TensorMap<'weight' | 'bias'> }): Float64Array {
  return Float64Array.from([...toTypedArray(result.x), ...toTypedArray(result.params.weight!), ...toTypedArray(result.params.bias!)]);
}

function scaledError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / scale);
  return worst;
}

describe('hessianVectorProduct', () => {
  for (const [name, loss] of [
    ['squared error (Gauss–Newton and curvature terms)', squaredErrorLoss(target)],
    ['linear loss Σ r⊙y (curvature term only)', linearLoss(target)],
  ] as const) {
    it(`${name}: equals central differences of the gradient along v, to 1e-7 of the scale`, () => {
      const hv = hessianVectorProduct(bound, { x, params, state: {}, mode: 'train', loss, direction });
      // central differences at t = 1e-5 of an O(1) smooth gradient: error ~1e-10
      const h = 1e-5;
      const plus = gradientAt(loss, h, direction);
      const minus = gradientAt(loss, -h, direction);
      const numeric = plus.map((p, i) => (p - minus[i]) / (2 * h));
      expect(scaledError(flat(hv), numeric)).toBeLessThan(1e-7);
      expect(Math.max(...Array.from(flat(hv), Math.abs))).toBeGreaterThan(1e-2);
      // the by-product is the gradient at the point
      expect(scaledError(flat(hv.gradient), gradientAt(loss, 0, direction))).toBe(0);
    });
  }

  it('is symmetric: ⟨u, H v⟩ = ⟨v, H u⟩ to rounding', () => {
    const loss = squaredErrorLoss(target);
    const other = { x: fromArray(normals(12, 8), shape, 'float64'), params: { weight: fromArray(normals(4, 9), 'float64'), bias: fromArray(normals(4, 10), 'float64') } };
    const hv = flat(hessianVectorProduct(bound, { x, params, state: {}, mode: 'train', loss, direction }));
    const hu = flat(hessianVectorProduct(bound, { x, params, state: {}, mode: 'train', loss, direction: other }));
    const u = flat({ x: other.x, params: other.params });
    const v = flat({ x: direction.x, params: direction.params });
    const uHv = u.reduce((s, ui, i) => s + ui * hv[i], 0);
    const vHu = v.reduce((s, vi, i) => s + vi * hu[i], 0);
    expect(Math.abs(uHv - vHu)).toBeLessThan(1e-12 * Math.max(1, Math.abs(uHv)));
    expect(Math.abs(uHv)).toBeGreaterThan(1e-3);
  });

  it('treats absent parameter directions as zero', () => {
    const loss = squaredErrorLoss(target);
    const onlyX = hessianVectorProduct(bound, { x, params, state: {}, mode: 'train', loss, direction: { x: direction.x } });
    const zeroParams = hessianVectorProduct(bound, {
      x,
      params,
      state: {},
      mode: 'train',
      loss,
      direction: { x: direction.x, params: { weight: zeros([4], 'float64'), bias: zeros([4], 'float64') } },
    });
    expect(Array.from(flat(onlyX))).toEqual(Array.from(flat(zeroParams)));
  });

  it('refuses a normalizer without doubleBackward (E_PLUGIN) and a loss gradient of the wrong shape (E_SHAPE)', () => {
    const first = rowNorm.create({ features: 4, second: false });
    let caught: unknown;
    try {
      hessianVectorProduct(first, { x, params, state: {}, mode: 'train', loss: squaredErrorLoss(target), direction });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NormkitError);
    expect((caught as NormkitError).code).toBe('E_PLUGIN');
    expect((caught as NormkitError).message).toBe('row-norm: expected a normalizer with the optional doubleBackward member (second-order pass), got none');
    const wrong = squaredErrorLoss(zeros([4, 3], 'float64'));
    expect(() => hessianVectorProduct(bound, { x, params, state: {}, mode: 'train', loss: wrong, direction })).toThrow(/target: expected the shape of y \[3, 4\], got \[4, 3\]/);
  });
});
