import { describe, expect, it } from 'vitest';
import { NormkitError, dtypeOf, fromArray, isContiguous, ones, tensor, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Dtype, Tensor } from '@normkit/core';
import { loadCases, runCase } from '@normkit/conformance';
import type { GoldenArray } from '@normkit/conformance';
import { randn } from '@normkit/testkit';
import ndarray from 'ndarray';
import { bytesOf, centralDifference, dot, perSlice, scaledMaxError } from '../test/numeric.js';
import { gShapeOf, normAxesOf, resolveWeightNormOptions } from './options.js';
import type { WeightNormInputOptions } from './options.js';
import { WeightNorm, weightNorm, weightNormFromWeight } from './plugin.js';

const cases = loadCases().filter((c) => c.layer === 'weight_norm');

function run(v: Tensor, g: Tensor, input: WeightNormInputOptions) {
  const options = weightNorm.resolveOptions(input);
  return weightNorm.forward({ x: v, params: { g }, state: {}, mode: 'train' }, options);
}

function back(v: Tensor, g: Tensor, dw: Tensor, input: WeightNormInputOptions) {
  const options = weightNorm.resolveOptions(input);
  const { saved } = run(v, g, input);
  return weightNorm.backward({ dy: dw, params: { g }, saved }, options);
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

    it(`${c.id}: saved ‖v‖ equals vNorm to 1e-12 relative (float64)`, () => {
      const v = c.inputs.v as GoldenArray;
      const g = c.inputs.g as GoldenArray;
      const expected = (c.expected?.vNorm as GoldenArray).data;
      const { saved } = run(fromArray(v.data, v.shape), fromArray(g.data, g.shape), { shape: v.shape, dim: c.options.dim as number | null });
      expect(saved.vNorm.length).toBe(expected.length);
      expect(scaledMaxError(saved.vNorm, expected)).toBeLessThan(1e-12);
    });
  }
});

describe('options', () => {
  it('defaults: dim 0, no eps, gInit norm; negative dim counts from the end', () => {
    expect(resolveWeightNormOptions({ shape: [5, 4] })).toEqual({ shape: [5, 4], dim: 0, eps: null, gInit: 'norm' });
    expect(resolveWeightNormOptions({ shape: [4, 3, 3, 3], dim: -3 }).dim).toBe(1);
    expect(resolveWeightNormOptions({ shape: [5, 4], dim: -1 }).dim).toBe(1); // the last axis, not the whole tensor
    expect(resolveWeightNormOptions({ shape: [5, 4], dim: null }).dim).toBeNull();
    expect(resolveWeightNormOptions({ shape: 7 }).shape).toEqual([7]);
  });

  it('resolving resolved options is the identity', () => {
    const once = resolveWeightNormOptions({ shape: [2, 3], dim: -1, eps: 1e-6, gInit: 'one' });
    expect(resolveWeightNormOptions(once)).toEqual(once);
  });

  it('g has PyTorch shapes', () => {
    expect(gShapeOf({ shape: [4, 3, 3, 3], dim: 0 })).toEqual([4, 1, 1, 1]);
    expect(gShapeOf({ shape: [5, 4], dim: 1 })).toEqual([1, 4]);
    expect(gShapeOf({ shape: [5, 4], dim: null })).toEqual([]);
    expect(weightNorm.paramShapes(resolveWeightNormOptions({ shape: [4, 3, 3, 3], dim: 1 }))).toEqual({ g: [1, 3, 1, 1] });
  });

  it.each([
    ['dim out of range', { shape: [5, 4], dim: 2 }],
    ['dim below −rank', { shape: [5, 4], dim: -3 }],
    ['dim not an integer', { shape: [5, 4], dim: 0.5 }],
    ['dim a string', { shape: [5, 4], dim: '0' }],
    ['no shape', {}],
    ['shape with a zero', { shape: [5, 0] }],
    ['eps 0', { shape: [5, 4], eps: 0 }],
    ['eps negative', { shape: [5, 4], eps: -1e-5 }],
    ['gInit unknown', { shape: [5, 4], gInit: 'two' }],
    ['unknown key', { shape: [5, 4], dims: 0 }],
  ])('%s → E_OPTION', (_, input) => {
    expect(() => weightNorm.resolveOptions(input as unknown as WeightNormInputOptions)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
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
      const options = weightNorm.resolveOptions({ shape: [4, 3, 3, 3], dim: 1 });
      const train = weightNorm.forward({ x: v, params: { g }, state: {}, mode: 'train' }, options);
      const evalMode = weightNorm.forward({ x: v, params: { g }, state: {}, mode: 'eval' }, options);
      expect(dtypeOf(train.y)).toBe(dtype);
      expect(isContiguous(train.y) && train.y.offset === 0).toBe(true);
      expect(train.y.data).not.toBe(v.data);
      expect(bytesOf(evalMode.y)).toBe(bytesOf(train.y));
      expect(train.saved.v).toBe(v); // a reference, not a copy
    }
  });

  it('eps goes inside the root: w = g·v/sqrt(Σv² + eps) (to 1e-15)', () => {
    const v = fromArray([3, 4], [1, 2]);
    const { y, saved } = run(v, ones([1, 1]), { shape: [1, 2], eps: 11 });
    expect(saved.vNorm[0]).toBe(6);
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
      const scaled = fromArray(toTypedArray(v).map((x) => x * s), shape);
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
    const v = fromArray([1, 2, NaN, 4], [2, 2]);
    const { y } = run(v, ones([2, 1]), { shape: [2, 2] });
    expect(Number.isNaN(y.get(1, 0)) && Number.isNaN(y.get(1, 1))).toBe(true);
    expect(Math.abs(y.get(0, 1) - 2 / Math.sqrt(5))).toBeLessThan(1e-15);
  });
});

describe('backward', () => {
  // The scale of ⟨dv, v⟩'s terms is |g|·‖dw‖ per slice (dv = (g/‖v‖)·(dw − …)); rounding
  // leaves a few ulps of it.
  it.each(SHAPES_AND_DIMS)('shape %j dim %j: ⟨dv, v⟩ = 0 per slice (|⟨dv,v⟩| ≤ 1e-14·|g|·‖dw‖ in float64)', (shape, dim) => {
    const options = resolveWeightNormOptions({ shape, dim });
    expect(weightNorm.invariants?.(options, 'train', shape)).toEqual([{ kind: 'orthogonal-to-input', reduceAxes: normAxesOf(options) }]);
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
    const options = resolveWeightNormOptions({ shape: [3, 4], eps: 1e-3 });
    expect(weightNorm.invariants?.(options, 'train', [3, 4])).toEqual([]);
  });

  // Central differences of L = Σ w·dw with h = 1e-6 in float64: truncation O(h²) and
  // rounding O(1e-16/h) leave about 1e-9; the tolerance is 1e-7 of the gradient's scale.
  for (const input of weightNorm.exampleOptions) {
    it(`central differences agree with dv and dg for ${JSON.stringify(input)} (to 1e-7)`, () => {
      const options = weightNorm.resolveOptions(input);
      const [shape] = weightNorm.exampleShapes(options);
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

  it('dg and dv keep the dtypes of g and v', () => {
    const v = randn([5, 4], 61, 'float32');
    const g = randn([5, 1], 62, 'float64');
    const { dx, grads } = back(v, g, randn([5, 4], 63, 'float32'), { shape: [5, 4] });
    expect(dtypeOf(dx)).toBe('float32');
    expect(dtypeOf(grads.g as Tensor)).toBe('float64');
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

describe('init, weightNormFromWeight and the WeightNorm layer', () => {
  it('init gives g = 1 in PyTorch shape and the requested dtype', () => {
    const options = weightNorm.resolveOptions({ shape: [4, 3, 3, 3], dim: 1 });
    const { params, state } = weightNorm.init(options);
    expect(state).toEqual({});
    expect(params.g?.shape).toEqual([1, 3, 1, 1]);
    expect(dtypeOf(params.g as Tensor)).toBe('float32');
    expect(Array.from(toTypedArray(params.g as Tensor))).toEqual([1, 1, 1]);
    expect(dtypeOf(weightNorm.init(options, 'float64').params.g as Tensor)).toBe('float64');
  });

  it.each([0, 1, null])('weightNormFromWeight with dim %j: g = ‖w‖, and w = g·v/‖v‖ gives w back (to 1e-15)', (dim) => {
    const w = randn([4, 3, 3, 3], 101);
    const { v, g } = weightNormFromWeight(w, { dim });
    expect(v.data).not.toBe(w.data);
    expect(g.shape).toEqual(gShapeOf({ shape: w.shape, dim }));
    const { y } = run(v, g, { shape: w.shape, dim });
    expect(scaledMaxError(toTypedArray(y), toTypedArray(w))).toBeLessThan(1e-15);
  });

  it("gInit 'one' gives g = 1 (Flax): unit-norm slices (to 1e-15)", () => {
    const w = randn([5, 4], 111);
    const { v, g } = weightNormFromWeight(w, { gInit: 'one' });
    expect(Array.from(toTypedArray(g))).toEqual([1, 1, 1, 1, 1]);
    const { y } = run(v, g, { shape: [5, 4] });
    perSlice(y, y, 0, (a, b) => a * b).forEach((n) => expect(Math.abs(n - 1)).toBeLessThan(1e-15));
  });

  it('the WeightNorm layer starts from a weight, keeps its dtype, and accumulates dg', () => {
    const w = randn([5, 4], 121, 'float64');
    const layer = new WeightNorm({ dim: 0 }, { weight: w });
    expect(layer.dtype).toBe('float64');
    expect(layer.options.shape).toEqual([5, 4]);
    const { v } = weightNormFromWeight(w);
    const out = layer.forward(v);
    expect(scaledMaxError(toTypedArray(out), toTypedArray(w))).toBeLessThan(1e-15);
    const dw = randn([5, 4], 122);
    const dv1 = layer.backward(dw);
    layer.backward(dw);
    const expected = back(v, layer.params.g as Tensor, dw, { shape: [5, 4] });
    expect(scaledMaxError(toTypedArray(dv1), toTypedArray(expected.dx))).toBe(0);
    const twice = toTypedArray(expected.grads.g as Tensor).map((x) => 2 * x);
    expect(scaledMaxError(toTypedArray(layer.grads.g as Tensor), twice)).toBeLessThan(1e-15);
    expect(Object.keys(layer.stateDict())).toEqual(['g']);
  });

  it('the WeightNorm layer without a weight has g = 1 in float32', () => {
    const layer = new WeightNorm({ shape: [3, 2], dim: null });
    expect(layer.params.g?.shape).toEqual([]);
    expect(dtypeOf(layer.params.g as Tensor)).toBe('float32');
  });
});

describe('bad inputs: the code, and nothing changed', () => {
  const shape = [5, 4];
  const options = weightNorm.resolveOptions({ shape });

  function expectCode(fn: () => unknown, code: string): void {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NormkitError);
    expect((caught as NormkitError).code).toBe(code);
  }

  it.each([
    ['g of the wrong shape (out) instead of (out, 1)', () => randn([5, 4], 1), () => randn([5], 2), 'E_SHAPE'],
    ['g of the dim=1 shape under dim=0', () => randn([5, 4], 1), () => randn([1, 4], 2), 'E_SHAPE'],
    ['g missing', () => randn([5, 4], 1), () => undefined, 'E_STATE'],
    ['v of another shape', () => randn([4, 5], 1), () => randn([5, 1], 2), 'E_SHAPE'],
    ['v with a zero-norm row and no eps', () => fromArray([1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 1, 1, 1, 1, 2, 2, 2, 2], [5, 4]), () => randn([5, 1], 2), 'E_DEGENERATE'],
    ['v all zeros and no eps', () => zeros([5, 4]), () => randn([5, 1], 2), 'E_DEGENERATE'],
  ])('forward: %s → %s', (_, makeV, makeG, code) => {
    const v = makeV();
    const g = makeG();
    const before = bytesOf(v, g);
    expectCode(() => weightNorm.forward({ x: v, params: g === undefined ? {} : { g }, state: {}, mode: 'train' }, options), code);
    expect(bytesOf(v, g)).toBe(before);
  });

  it('forward: a non-float x → E_DTYPE', () => {
    const x = ndarray(new Int32Array(20), [5, 4]) as unknown as Tensor;
    expectCode(() => weightNorm.forward({ x, params: { g: ones([5, 1]) }, state: {}, mode: 'train' }, options), 'E_DTYPE');
    expectCode(() => weightNorm.forward({ x: [[1, 2]] as unknown as Tensor, params: { g: ones([5, 1]) }, state: {}, mode: 'train' }, options), 'E_DTYPE');
  });

  it('a zero-norm slice is fine with eps: finite w, that slice 0', () => {
    const v = fromArray([0, 0, 0, 0, 1, 2, 3, 4], [2, 4]);
    const { y } = run(v, ones([2, 1]), { shape: [2, 4], eps: 1e-12 });
    expect(Array.from(toTypedArray(y)).slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(toTypedArray(y).every(Number.isFinite)).toBe(true);
  });

  it('backward: dy of the wrong shape → E_SHAPE; a foreign saved → E_STATE; inputs unchanged', () => {
    const v = randn(shape, 1);
    const g = randn([5, 1], 2);
    const { saved } = run(v, g, options);
    const dy = randn([4, 5], 3);
    const before = bytesOf(v, g, dy);
    expectCode(() => weightNorm.backward({ dy, params: { g }, saved }, options), 'E_SHAPE');
    const other = weightNorm.resolveOptions({ shape, dim: 1 });
    expectCode(() => weightNorm.backward({ dy: randn(shape, 4), params: { g: ones([1, 4]) }, saved }, other), 'E_STATE');
    expect(bytesOf(v, g, dy)).toBe(before);
  });

  it('the layer: dim out of range throws E_OPTION at construction; a bad forward leaves g and grads unchanged', () => {
    expectCode(() => new WeightNorm({ shape, dim: 2 }), 'E_OPTION');
    expectCode(() => new WeightNorm({ shape, dim: -3 }), 'E_OPTION');
    const layer = new WeightNorm({ shape }, { weight: randn(shape, 5) });
    const before = bytesOf(layer.params.g, layer.grads.g);
    const zero = zeros(shape, 'float64');
    expectCode(() => layer.forward(zero), 'E_DEGENERATE');
    expectCode(() => layer.forward(randn([5, 3], 6)), 'E_SHAPE');
    expect(bytesOf(layer.params.g, layer.grads.g)).toBe(before);
    expect(bytesOf(zero)).toBe(bytesOf(zeros(shape, 'float64')));
  });

  it('weightNormFromWeight: zero-norm slice → E_DEGENERATE; shape mismatch → E_SHAPE; a weight the layer does not fit → E_SHAPE', () => {
    expectCode(() => weightNormFromWeight(tensor(new Float64Array(8), [2, 4])), 'E_DEGENERATE');
    expectCode(() => weightNormFromWeight(randn([2, 4], 1), { shape: [4, 2] }), 'E_SHAPE');
    expectCode(() => new WeightNorm({ shape: [4, 2] }, { weight: randn([2, 4], 1) }), 'E_SHAPE');
  });
});
