import { describe, expect, it } from 'vitest';
import { dtypeOf, fromArray, isContiguous, ones, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Dtype, Tensor } from '@normkit/core';
import { loadCases, runCase } from '@normkit/conformance';
import type { GoldenArray } from '@normkit/conformance';
import { randn } from '@normkit/testkit';
import ndarray from 'ndarray';
import { expectCode } from '../test/errors.js';
import { bytesOf, centralDifference, dot, perSlice, scaledMaxError } from '../test/numeric.js';
import { gShapeOf, normAxesOf, resolveWeightNormOptions } from './options.js';
import type { WeightNormInputOptions } from './options.js';
import { directionNorms, weightNorm } from './plugin.js';

const cases = loadCases().filter((c) => c.layer === 'weight_norm');

function run(v: Tensor, g: Tensor, input: WeightNormInputOptions) {
  return weightNorm.create(input).forward({ x: v, params: { g }, state: {}, mode: 'train' });
}

function back(v: Tensor, g: Tensor, dw: Tensor, input: WeightNormInputOptions) {
  const wn = weightNorm.create(input);
  const { saved } = wn.forward({ x: v, params: { g }, state: {}, mode: 'train' });
  return wn.backward({ dy: dw, params: { g }, saved });
}

describe('golden PyTorch vectors (weight_norm)', () => {
  it('has the six cases: linear and conv, dim 0, 1 and null', () => {
    expect(cases.map((c) => c.id).sort()).toEqual([
      'weightnorm-conv-dim0-001',
      'weightnorm-conv-dim1-001',
      'weightnorm-conv-dimnone-001',
      'weightnorm-linear-dim0-001',
      'weightnorm-linear-dim1-001',
      'weightnorm-linear-dimnone-001',
    ]);
  });

  for (const c of cases) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${c.id} passes in ${dtype} (README tolerances: float64 rtol 1e-10/atol 1e-12, float32 rtol 1e-4/atol 1e-5)`, () => {
        const result = runCase(c, weightNorm, { dtype });
        expect(result.message).toBe('');
        expect(result.status).toBe('pass');
      });
    }

    it(`${c.id}: saved 1/invStd and directionNorms equal vNorm to 1e-12 relative (float64)`, () => {
      const v = c.inputs.v as GoldenArray;
      const g = c.inputs.g as GoldenArray;
      const expected = (c.expected?.vNorm as GoldenArray).data;
      const input = { shape: v.shape, dim: c.options.dim as number | null };
      const { saved } = run(fromArray(v.data, v.shape, 'float64'), fromArray(g.data, g.shape, 'float64'), input);
      expect(saved.invStd.length).toBe(expected.length);
      expect(saved.inputScale).toBeNull();
      expect(Array.from(saved.center)).toEqual(expected.map(() => 0));
      expect(scaledMaxError(saved.invStd.map((s) => 1 / s), expected)).toBeLessThan(1e-12);
      expect(scaledMaxError(directionNorms(fromArray(v.data, v.shape, 'float64'), resolveWeightNormOptions(input)), expected)).toBeLessThan(1e-12);
    });
  }
});

const SHAPES_AND_DIMS: [number[], number | null][] = [
  [[5, 4], 0],
  [[5, 4], 1],
  [[5, 4], null],
  [[4, 3, 3, 3], 0],
  [[4, 3, 3, 3], 1],
  [[4, 3, 3, 3], 3],
  [[4, 3, 3, 3], null],
  [[6], 0],
];

describe('forward', () => {
  it.each(SHAPES_AND_DIMS)('shape %j dim %j: every slice of w has norm |g| (to 1e-14)', (shape, dim) => {
    const options = resolveWeightNormOptions({ shape, dim });
    const v = randn(shape, 11);
    const g = randn(gShapeOf(options), 12);
    const { y } = run(v, g, options);
    const norms = perSlice(y, y, dim, (a, b) => a * b).map(Math.sqrt);
    const gValues = toTypedArray(g);
    norms.forEach((n, s) => expect(Math.abs(n - Math.abs(gValues[s]))).toBeLessThan(1e-14 * Math.max(1, Math.abs(gValues[s]))));
  });

  it('returns a new row-major y with the dtype of v, and eval mode gives the same bits', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const v = randn([4, 3, 3, 3], 3, dtype);
      const g = randn([1, 3, 1, 1], 4, dtype);
      const wn = weightNorm.create({ shape: [4, 3, 3, 3], dim: 1 });
      const train = wn.forward({ x: v, params: { g }, state: {}, mode: 'train' });
      const evalMode = wn.forward({ x: v, params: { g }, state: {}, mode: 'eval' });
      expect(dtypeOf(train.y)).toBe(dtype);
      expect(isContiguous(train.y) && train.y.offset === 0).toBe(true);
      expect(train.y.data).not.toBe(v.data);
      expect(bytesOf(evalMode.y)).toBe(bytesOf(train.y));
      expect(train.saved.x).toBe(v); // a reference, not a copy
    }
  });

  it('eps goes inside the root: w = g·v/sqrt(Σv² + eps) (to 1e-15)', () => {
    const v = fromArray([3, 4], [1, 2], 'float64');
    const { y, saved } = run(v, ones([1, 1], 'float64'), { shape: [1, 2], eps: 11 });
    expect(saved.invStd[0]).toBe(1 / 6); // ‖v‖ = sqrt(25 + 11) = 6 exactly
    expect(Math.abs(y.get(0, 0) - 0.5)).toBeLessThan(1e-15);
    expect(Math.abs(y.get(0, 1) - 4 / 6)).toBeLessThan(1e-15);
  });

  it('norms survive float64 overflow and underflow of Σv²: w(s·v) = w(v) and dv(s·v)·s = dv(v) (to 1e-14)', () => {
    const shape = [3, 5];
    const v = randn(shape, 21);
    const g = randn([3, 1], 22);
    const dw = randn(shape, 23);
    const reference = run(v, g, { shape });
    const referenceGrad = back(v, g, dw, { shape });
    for (const s of [1e200, 1e-200, 1e300, 1e-300]) {
      const scaled = fromArray(toTypedArray(v).map((x) => x * s), shape, 'float64');
      const { y } = run(scaled, g, { shape });
      expect(scaledMaxError(toTypedArray(y), toTypedArray(reference.y))).toBeLessThan(1e-14);
      if (s > 1e-250) {
        const { dx, grads } = back(scaled, g, dw, { shape });
        expect(scaledMaxError(toTypedArray(dx).map((x) => x * s), toTypedArray(referenceGrad.dx))).toBeLessThan(1e-14);
        expect(scaledMaxError(toTypedArray(grads.g as Tensor), toTypedArray(referenceGrad.grads.g as Tensor))).toBeLessThan(1e-14);
      }
    }
  });

  it('NaN in a slice gives NaN in that slice only, not an error', () => {
    const v = fromArray([1, 2, NaN, 4], [2, 2], 'float64');
    const { y } = run(v, ones([2, 1], 'float64'), { shape: [2, 2] });
    expect(Number.isNaN(y.get(1, 0)) && Number.isNaN(y.get(1, 1))).toBe(true);
    expect(Math.abs(y.get(0, 1) - 2 / Math.sqrt(5))).toBeLessThan(1e-15);
  });
});

describe('backward', () => {
  // The scale of ⟨dv, v⟩'s terms is |g|·‖dw‖ per slice (dv = (g/‖v‖)·(dw − …)); rounding
  // leaves a few ulps of it.
  it.each(SHAPES_AND_DIMS)('shape %j dim %j: ⟨dv, v⟩ = 0 per slice (|⟨dv,v⟩| ≤ 1e-14·|g|·‖dw‖ in float64)', (shape, dim) => {
    const options = resolveWeightNormOptions({ shape, dim });
    expect(weightNorm.create(options).invariants?.('train', shape)).toEqual([{ kind: 'orthogonal-to-input', reduceAxes: normAxesOf(options) }]);
    const v = randn(shape, 31, 'float64', 0.5, 2);
    const g = randn(gShapeOf(options), 32);
    const dw = randn(shape, 33);
    const { dx } = back(v, g, dw, options);
    const inner = perSlice(dx, v, dim, (a, b) => a * b);
    const dwNorm = perSlice(dw, dw, dim, (a, b) => a * b).map(Math.sqrt);
    const gValues = toTypedArray(g);
    inner.forEach((d, s) => expect(Math.abs(d)).toBeLessThanOrEqual(1e-14 * Math.abs(gValues[s]) * dwNorm[s]));
  });

  it('⟨dv, v⟩ = 0 per slice in float32 too (≤ 1e-6·‖dv‖‖v‖)', () => {
    const shape = [4, 3, 3, 3];
    const v = randn(shape, 41, 'float32');
    const g = randn([1, 3, 1, 1], 42, 'float32');
    const dw = randn(shape, 43, 'float32');
    const { dx } = back(v, g, dw, { shape, dim: 1 });
    expect(dtypeOf(dx)).toBe('float32');
    const inner = perSlice(dx, v, 1, (a, b) => a * b);
    const dvNorm = perSlice(dx, dx, 1, (a, b) => a * b).map(Math.sqrt);
    const vNorm = perSlice(v, v, 1, (a, b) => a * b).map(Math.sqrt);
    inner.forEach((d, s) => expect(Math.abs(d)).toBeLessThanOrEqual(1e-6 * dvNorm[s] * vNorm[s]));
  });

  it('with eps there is no orthogonality invariant declared', () => {
    expect(weightNorm.create({ shape: [3, 4], eps: 1e-3 }).invariants?.('train', [3, 4])).toEqual([]);
  });

  // Central differences of L = Σ w·dw with h = 1e-6 in float64: truncation O(h²) and
  // rounding O(1e-16/h) leave about 1e-9; the tolerance is 1e-7 of the gradient's scale.
  for (const input of weightNorm.exampleOptions) {
    it(`central differences agree with dv and dg for ${JSON.stringify(input)} (to 1e-7)`, () => {
      const options = weightNorm.resolveOptions(input);
      const [shape] = weightNorm.create(input).exampleShapes();
      const v = randn(shape, 51, 'float64', 0.3, 1);
      const g = randn(gShapeOf(options), 52, 'float64', 1, 0.5);
      const dw = randn(shape, 53);
      const loss = (vv: Tensor, gg: Tensor) => dot(run(vv, gg, options).y, dw);
      const { dx, grads } = back(v, g, dw, options);
      const numericV = centralDifference((t) => loss(t, g), v);
      const numericG = centralDifference((t) => loss(v, t), g);
      expect(scaledMaxError(toTypedArray(dx), numericV)).toBeLessThan(1e-7);
      expect(scaledMaxError(toTypedArray(grads.g as Tensor), numericG)).toBeLessThan(1e-7);
      expect((grads.g as Tensor).shape).toEqual(gShapeOf(options));
    });
  }

  it('dtypes: dv and dg follow v (also for a float64 dw with a float32 v); a g of another dtype than v → E_DTYPE', () => {
    const v = randn([5, 4], 61, 'float32');
    const g = randn([5, 1], 62, 'float32');
    const dw = randn([5, 4], 63, 'float64');
    const { dx, grads } = back(v, g, dw, { shape: [5, 4] });
    expect(dtypeOf(dx)).toBe('float32');
    expect(dtypeOf(grads.g as Tensor)).toBe('float32');
    // The same dw rounded to float32 gives the same dv to float32 rounding (1e-6 of scale).
    const rounded = back(v, g, toContiguous(dw, 'float32'), { shape: [5, 4] });
    expect(scaledMaxError(toTypedArray(dx), toTypedArray(rounded.dx))).toBeLessThan(1e-6);
    expect(() => run(v, randn([5, 1], 62, 'float64'), { shape: [5, 4] })).toThrow(expect.objectContaining({ code: 'E_DTYPE' }));
  });
});

describe('strided views equal contiguous copies (to 1e-14 of scale)', () => {
  function views(shape: number[], seed: number, dtype: Dtype): Tensor[] {
    const rank = shape.length;
    // Transposed: a buffer of the reversed shape, read with reversed axes.
    const reversed = randn(shape.slice().reverse(), seed, dtype).transpose(...shape.map((_, k) => rank - 1 - k));
    // Every axis reversed (negative strides).
    const flipped = randn(shape, seed + 1, dtype).step(...shape.map(() => -1));
    // A window into a padded buffer with an extra trailing axis (offset, gaps).
    const padded = randn([...shape.map((d) => d + 2), 2], seed + 2, dtype);
    const window = padded.lo(...shape.map(() => 1), 0).hi(...shape, 2).pick(...shape.map(() => null), 1);
    return [reversed, flipped, window];
  }

  it.each(SHAPES_AND_DIMS)('shape %j dim %j: forward and backward', (shape, dim) => {
    const options = resolveWeightNormOptions({ shape, dim });
    for (const dtype of ['float64', 'float32'] as const) {
      const g = randn(gShapeOf(options), 71, dtype);
      const vs = views(shape, 72, dtype);
      const dws = views(shape, 82, dtype);
      for (let i = 0; i < vs.length; i++) {
        const v = vs[i];
        const dw = dws[(i + 1) % dws.length];
        if (shape.length > 1 || i > 0) expect(isContiguous(v)).toBe(false); // a 1-d transpose is the identity
        const vc = toContiguous(v);
        const dwc = toContiguous(dw);
        const strided = back(v, g, dw, options);
        const plain = back(vc, g, dwc, options);
        const tol = dtype === 'float64' ? 1e-14 : 1e-6;
        expect(scaledMaxError(toTypedArray(run(v, g, options).y), toTypedArray(run(vc, g, options).y))).toBeLessThan(tol);
        expect(scaledMaxError(toTypedArray(strided.dx), toTypedArray(plain.dx))).toBeLessThan(tol);
        expect(scaledMaxError(toTypedArray(strided.grads.g as Tensor), toTypedArray(plain.grads.g as Tensor))).toBeLessThan(tol);
        // Mixed: contiguous v with strided dw, and the other way round.
        expect(scaledMaxError(toTypedArray(back(vc, g, dw, options).dx), toTypedArray(plain.dx))).toBeLessThan(tol);
        expect(scaledMaxError(toTypedArray(back(v, g, dwc, options).dx), toTypedArray(plain.dx))).toBeLessThan(tol);
      }
    }
  });

  it('a contiguous view at an offset takes the fast path and agrees (to 1e-15)', () => {
    const big = randn([7, 4], 91);
    const v = big.lo(2, 0); // rows 2..6: contiguous, offset 8
    expect(isContiguous(v) && v.offset === 8).toBe(true);
    const g = randn([5, 1], 92);
    expect(scaledMaxError(toTypedArray(run(v, g, { shape: [5, 4] }).y), toTypedArray(run(toContiguous(v), g, { shape: [5, 4] }).y))).toBeLessThan(1e-15);
  });
});

describe('init', () => {
  it('init gives g = 1 in PyTorch shape and the requested dtype (float32 by default)', () => {
    const wn = weightNorm.create({ shape: [4, 3, 3, 3], dim: 1 });
    const { params, state } = wn.init();
    expect(state).toEqual({});
    expect(params.g?.shape).toEqual([1, 3, 1, 1]);
    expect(dtypeOf(params.g as Tensor)).toBe('float32');
    expect(Array.from(toTypedArray(params.g as Tensor))).toEqual([1, 1, 1]);
    expect(dtypeOf(wn.init('float64').params.g as Tensor)).toBe('float64');
  });
});

describe('bad inputs: the code, and nothing changed', () => {
  const shape = [5, 4];
  const wn = weightNorm.create({ shape });


  it.each([
    ['g of the wrong shape (out) instead of (out, 1)', () => randn([5, 4], 1), () => randn([5], 2), 'E_SHAPE'],
    ['g of the dim=1 shape under dim=0', () => randn([5, 4], 1), () => randn([1, 4], 2), 'E_SHAPE'],
    ['g missing', () => randn([5, 4], 1), () => undefined, 'E_STATE'],
    ['v of another shape', () => randn([4, 5], 1), () => randn([5, 1], 2), 'E_SHAPE'],
    ['v with a zero-norm row and no eps', () => fromArray([1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 1, 1, 1, 1, 2, 2, 2, 2], [5, 4], 'float64'), () => randn([5, 1], 2), 'E_DEGENERATE'],
    ['v all zeros and no eps', () => zeros([5, 4], 'float64'), () => randn([5, 1], 2), 'E_DEGENERATE'],
  ])('forward: %s → %s', (_, makeV, makeG, code) => {
    const v = makeV();
    const g = makeG();
    const before = bytesOf(v, g);
    expectCode(() => wn.forward({ x: v, params: g === undefined ? {} : { g }, state: {}, mode: 'train' }), code);
    expect(bytesOf(v, g)).toBe(before);
  });

  it('forward: a non-float x → E_DTYPE', () => {
    const x = ndarray(new Int32Array(20), [5, 4]) as unknown as Tensor;
    expectCode(() => wn.forward({ x, params: { g: ones([5, 1], 'float64') }, state: {}, mode: 'train' }), 'E_DTYPE');
    expectCode(() => wn.forward({ x: [[1, 2]] as unknown as Tensor, params: { g: ones([5, 1], 'float64') }, state: {}, mode: 'train' }), 'E_DTYPE');
  });

  it('a zero-norm slice is fine with eps: finite w, that slice 0', () => {
    const v = fromArray([0, 0, 0, 0, 1, 2, 3, 4], [2, 4], 'float64');
    const { y } = run(v, ones([2, 1], 'float64'), { shape: [2, 4], eps: 1e-12 });
    expect(Array.from(toTypedArray(y)).slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(toTypedArray(y).every(Number.isFinite)).toBe(true);
  });

  it('backward: dy of the wrong shape → E_SHAPE; a foreign saved → E_STATE; inputs unchanged', () => {
    const v = randn(shape, 1);
    const g = randn([5, 1], 2);
    const { saved } = wn.forward({ x: v, params: { g }, state: {}, mode: 'train' });
    const dy = randn([4, 5], 3);
    const before = bytesOf(v, g, dy);
    expectCode(() => wn.backward({ dy, params: { g }, saved }), 'E_SHAPE');
    const other = weightNorm.create({ shape, dim: 1 });
    expectCode(() => other.backward({ dy: randn(shape, 4), params: { g: ones([1, 4], 'float64') }, saved }), 'E_STATE');
    expectCode(() => wn.backward({ dy: randn(shape, 4), params: { g }, saved: { ...saved, inputScale: new Float64Array(4) } }), 'E_STATE');
    expectCode(() => wn.backward({ dy: randn(shape, 4), params: { g }, saved: { ...saved, invStd: new Float32Array(5) } as never }), 'E_STATE');
    expect(bytesOf(v, g, dy)).toBe(before);
  });
});
