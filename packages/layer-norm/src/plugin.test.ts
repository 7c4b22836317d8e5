import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { assertNormalizer, dtypeOf, setKernelBackendsEnabled, isContiguous, fromArray, isNormkitError, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { BoundNormalizer, Dtype, Tensor } from '@normkit/core';
import { randn, uniform } from '@normkit/testkit';
import { referenceBatchNormColumns, referenceLayerNorm, scaledError, valuesOf } from '../test/reference.js';
import { LAYER_NORM_FORMULA, VERSION, layerNorm } from './index.js';
import type { LayerNormInputOptions, LayerNormTypes } from './index.js';

type Params = { weight?: Tensor; bias?: Tensor };

/** Layer norm bound to one set of options. */
type LayerNormBound = BoundNormalizer<LayerNormTypes>;

/** forward then backward with upstream dy: y, state, the saved x/center/invStd, dx and grads. */
function run(x: Tensor, params: Params, dy: Tensor, ln: LayerNormBound, mode: 'train' | 'eval' = 'train') {
  const forward = ln.forward({ x, params, state: {}, mode });
  const backward = ln.backward({ dy, params, saved: forward.saved });
  return { ...forward, ...forward.saved, ...backward };
}

/** Random parameters (not the identity init, so the affine is exercised). */
function randomParams(ln: LayerNormBound, seed: number, dtype: Dtype = 'float64'): Params {
  const shapes = ln.paramShapes();
  const params: Params = {};
  if (shapes.weight !== undefined) params.weight = randn(shapes.weight, seed, dtype, 1, 0.5);
  if (shapes.bias !== undefined) params.bias = randn(shapes.bias, seed + 1, dtype);
  return params;
}

describe('plugin metadata and shapes', () => {
  it('passes core assertNormalizer and names itself', () => {
    expect(assertNormalizer(layerNorm, 'layerNorm')).toBe(layerNorm);
    expect(layerNorm.meta.name).toBe('layer-norm');
    expect(layerNorm.meta.version).toBe(VERSION);
    expect(layerNorm.meta.formula).toBe(LAYER_NORM_FORMULA);
    expect(layerNorm.modes).toEqual(['train']);
  });

  it('every example option set resolves, and its example shapes run forward and backward', () => {
    expect(layerNorm.exampleOptions[0]).toEqual({ normalizedShape: [5] });
    for (const input of layerNorm.exampleOptions) {
      const ln = layerNorm.create(input);
      for (const shape of ln.exampleShapes()) {
        expect(shape.slice(shape.length - ln.options.normalizedShape.length)).toEqual(ln.options.normalizedShape);
        const { params } = ln.init('float64');
        const out = run(randn(shape, 1), params, randn(shape, 2), ln);
        expect(out.y.shape).toEqual(shape);
        expect(out.dx.shape).toEqual(shape);
      }
    }
  });

  it('paramShapes / init follow elementwiseAffine and bias; no state', () => {
    const all = layerNorm.create({ normalizedShape: [3, 4] });
    expect(all.paramShapes()).toEqual({ weight: [3, 4], bias: [3, 4] });
    expect(all.stateShapes()).toEqual({});
    const fresh = all.init();
    expect(dtypeOf(fresh.params.weight!)).toBe('float32');
    expect(Array.from(toTypedArray(fresh.params.weight!))).toEqual(new Array(12).fill(1));
    expect(Array.from(toTypedArray(fresh.params.bias!))).toEqual(new Array(12).fill(0));
    expect(fresh.state).toEqual({});
    expect(dtypeOf(all.init('float64').params.bias!)).toBe('float64');
    const noBias = layerNorm.create({ normalizedShape: 4, bias: false });
    expect(noBias.paramShapes()).toEqual({ weight: [4] });
    expect(Object.keys(noBias.init().params)).toEqual(['weight']);
    const noAffine = layerNorm.create({ normalizedShape: 4, elementwiseAffine: false });
    expect(noAffine.paramShapes()).toEqual({});
    expect(noAffine.init().params).toEqual({});
  });

  it('declares the zero-sum invariant over the trailing axes, and dx obeys it (1e-13 scaled)', () => {
    const ln = layerNorm.create({ normalizedShape: [3, 4] });
    expect(ln.invariants!('train', [2, 5, 3, 4])).toEqual([{ kind: 'zero-sum', reduceAxes: [2, 3] }]);
    expect(ln.invariants!('eval', [3, 4])).toEqual([{ kind: 'zero-sum', reduceAxes: [0, 1] }]);
    const { dx } = run(randn([2, 5, 3, 4], 3), randomParams(ln, 4), randn([2, 5, 3, 4], 5), ln);
    const values = toTypedArray(dx);
    for (let row = 0; row < 10; row++) {
      let sum = 0;
      let scale = 0;
      for (let j = 0; j < 12; j++) {
        sum += values[row * 12 + j];
        scale = Math.max(scale, Math.abs(values[row * 12 + j]));
      }
      expect(Math.abs(sum)).toBeLessThan(1e-13 * Math.max(1, scale));
    }
  });
});

describe('forward and backward against a plain reference (float64, 1e-12 relative)', () => {
  const optionSets: LayerNormInputOptions[] = [
    { normalizedShape: [5] },
    { normalizedShape: [3, 4] },
    { normalizedShape: [2, 3, 2], eps: 1e-3 },
    { normalizedShape: [4], bias: false },
    { normalizedShape: [3, 4], elementwiseAffine: false },
    { normalizedShape: [1] },
  ];
  const leadingShapes = [[], [3], [2, 3], [2, 1, 3]];
  let seed = 100;
  for (const input of optionSets) {
    for (const leading of leadingShapes) {
      const ln = layerNorm.create(input);
      const shape = [...leading, ...ln.options.normalizedShape];
      it(`${JSON.stringify(input)} on ${JSON.stringify(shape)}`, () => {
        seed += 10;
        const x = randn(shape, seed, 'float64', 0.5, 2);
        const dy = randn(shape, seed + 1);
        const params = randomParams(ln, seed + 2);
        const out = run(x, params, dy, ln);
        const ref = referenceLayerNorm(x, ln.options.normalizedShape, ln.options.eps, params.weight, params.bias, dy);
        // one statistic per row, row-major over the leading shape
        expect(out.center.length).toBe(leading.reduce((a, b) => a * b, 1));
        expect(out.invStd.length).toBe(leading.reduce((a, b) => a * b, 1));
        expect(scaledError(toTypedArray(out.y), ref.y)).toBeLessThan(1e-12);
        expect(scaledError(toTypedArray(out.dx), ref.dx)).toBeLessThan(1e-12);
        expect(scaledError(out.center, ref.mean)).toBeLessThan(1e-12);
        expect(scaledError(out.invStd, ref.invStd)).toBeLessThan(1e-12);
        if (params.weight !== undefined) expect(scaledError(toTypedArray(out.grads.weight!), ref.dweight)).toBeLessThan(1e-12);
        else expect(out.grads.weight).toBeUndefined();
        if (params.bias !== undefined) expect(scaledError(toTypedArray(out.grads.bias!), ref.dbias)).toBeLessThan(1e-12);
        else expect(out.grads.bias).toBeUndefined();
      });
    }
  }

  it('a one-element row gives y = bias and dx = 0 (x̂ = 0)', () => {
    const ln = layerNorm.create({ normalizedShape: 1 });
    const params = randomParams(ln, 7);
    const out = run(randn([4, 1], 8), params, randn([4, 1], 9), ln);
    expect(Array.from(toTypedArray(out.y))).toEqual(new Array(4).fill(params.bias!.get(0)));
    expect(Array.from(toTypedArray(out.dx)).every((v) => v === 0)).toBe(true);
  });

  it('one-element rows give y = bias and dx = 0 exactly for any values (regression: the engine left ~1e-14 noise)', () => {
    const ln = layerNorm.create({ normalizedShape: 1 });
    for (let seed = 1; seed <= 30; seed++) {
      const params = randomParams(ln, seed);
      const x = randn([16, 1], seed + 1000, 'float64', 0, 10);
      const out = run(x, params, randn([16, 1], seed + 2000), ln);
      expect(Array.from(toTypedArray(out.y))).toEqual(new Array(16).fill(params.bias!.get(0)));
      expect(Array.from(toTypedArray(out.dx)).every((v) => v === 0)).toBe(true);
      // the same through a strided view (every other row, walked backwards)
      const strided = run(randn([32, 1], seed + 3000, 'float64', 0, 10).step(-2, 1), params, randn([16, 1], seed + 4000), ln);
      expect(Array.from(toTypedArray(strided.y))).toEqual(new Array(16).fill(params.bias!.get(0)));
      expect(Array.from(toTypedArray(strided.dx)).every((v) => v === 0)).toBe(true);
    }
  });

  it('the transformer shape (rows × 768) in float32 matches the reference at float32 precision (2e-6 scaled)', () => {
    const ln = layerNorm.create({ normalizedShape: 768 });
    const x = randn([16, 768], 31, 'float32', 0, 3);
    const dy = randn([16, 768], 32, 'float32');
    const params = randomParams(ln, 33, 'float32');
    const out = run(x, params, dy, ln);
    expect(dtypeOf(out.y)).toBe('float32');
    expect(dtypeOf(out.dx)).toBe('float32');
    expect(dtypeOf(out.grads.weight!)).toBe('float32');
    const ref = referenceLayerNorm(x, [768], ln.options.eps, params.weight, params.bias, dy);
    expect(scaledError(toTypedArray(out.y), ref.y)).toBeLessThan(2e-6);
    expect(scaledError(toTypedArray(out.dx), ref.dx)).toBeLessThan(2e-6);
    expect(scaledError(toTypedArray(out.grads.weight!), ref.dweight)).toBeLessThan(2e-6);
    expect(scaledError(toTypedArray(out.grads.bias!), ref.dbias)).toBeLessThan(2e-6);
  });
});

describe('dtypes', () => {
  // These pin the TypeScript kernels' rounding (float64 arithmetic, one rounding on store); the
  // default WebAssembly path computes float32 in float32 lanes and is checked at the end.
  beforeAll(() => setKernelBackendsEnabled(false));
  afterAll(() => setKernelBackendsEnabled(true));

  it('y, dx and the grads take x’s dtype; dy may be either dtype; saved statistics are float64', () => {
    const ln = layerNorm.create({ normalizedShape: 4 });
    const x32 = randn([3, 4], 1, 'float32');
    const params = { weight: randn([4], 2, 'float32'), bias: randn([4], 3, 'float32') };
    const out = run(x32, params, randn([3, 4], 4, 'float64'), ln);
    expect(dtypeOf(out.y)).toBe('float32');
    expect(dtypeOf(out.dx)).toBe('float32');
    expect(dtypeOf(out.grads.weight!)).toBe('float32');
    expect(dtypeOf(out.grads.bias!)).toBe('float32');
    expect(out.center).toBeInstanceOf(Float64Array);
    expect(out.invStd).toBeInstanceOf(Float64Array);
    // the same float32-exact dy in float32 gives the same results
    const same = run(x32, params, randn([3, 4], 4, 'float32'), ln);
    expect(Array.from(toTypedArray(same.dx))).toEqual(Array.from(toTypedArray(out.dx)));
  });

  it('parameters of another dtype than x are refused with E_DTYPE (PyTorch raises too; nothing is promoted)', () => {
    const ln = layerNorm.create({ normalizedShape: 4 });
    for (const [xDtype, pDtype] of [
      ['float32', 'float64'],
      ['float64', 'float32'],
    ] as const) {
      const x = randn([3, 4], 1, xDtype);
      const mixed = { weight: randn([4], 2, pDtype), bias: randn([4], 3, xDtype) };
      let caught: unknown;
      try {
        ln.forward({ x, params: mixed, state: {}, mode: 'train' });
      } catch (e) {
        caught = e;
      }
      expect(isNormkitError(caught, 'E_DTYPE')).toBe(true);
      expect((caught as Error).message).toContain(`params.weight: expected ${xDtype} to match x, got ${pDtype}`);
    }
  });

  it('float32 results are the float64 results rounded once (same float32-exact inputs, ≤ 1 ulp-ish: 3e-7 scaled)', () => {
    const ln = layerNorm.create({ normalizedShape: [3, 5] });
    const shape = [4, 3, 5];
    const run64 = run(randn(shape, 5), randomParams(ln, 6), randn(shape, 7), ln);
    const run32 = run(randn(shape, 5, 'float32'), randomParams(ln, 6, 'float32'), randn(shape, 7, 'float32'), ln);
    expect(scaledError(toTypedArray(run32.y), toTypedArray(run64.y))).toBeLessThan(3e-7);
    expect(scaledError(toTypedArray(run32.dx), toTypedArray(run64.dx))).toBeLessThan(3e-7);
    expect(scaledError(toTypedArray(run32.grads.weight!), toTypedArray(run64.grads.weight!))).toBeLessThan(3e-7);
    // in fact exactly rounded once: the kernels compute in float64 whatever the storage dtype
    expect(Array.from(toTypedArray(run32.y))).toEqual(Array.from(toTypedArray(run64.y), (v) => Math.fround(v)));
    expect(Array.from(toTypedArray(run32.dx))).toEqual(Array.from(toTypedArray(run64.dx), (v) => Math.fround(v)));
    expect(Array.from(toTypedArray(run32.grads.bias!))).toEqual(Array.from(toTypedArray(run64.grads.bias!), (v) => Math.fround(v)));
  });

  it('the default float32 path (WebAssembly SIMD, installed by the package) agrees with float64 to float32 accuracy (2e-6 scaled)', () => {
    setKernelBackendsEnabled(true);
    try {
      const ln = layerNorm.create({ normalizedShape: [3, 5] });
      const shape = [4, 3, 5];
      const run64 = run(randn(shape, 5), randomParams(ln, 6), randn(shape, 7), ln);
      const run32 = run(randn(shape, 5, 'float32'), randomParams(ln, 6, 'float32'), randn(shape, 7, 'float32'), ln);
      expect(scaledError(toTypedArray(run32.y), toTypedArray(run64.y))).toBeLessThan(2e-6);
      expect(scaledError(toTypedArray(run32.dx), toTypedArray(run64.dx))).toBeLessThan(2e-6);
      expect(scaledError(toTypedArray(run32.grads.weight!), toTypedArray(run64.grads.weight!))).toBeLessThan(2e-6);
    } finally {
      setKernelBackendsEnabled(false);
    }
  });
});

describe('strided views equal contiguous copies', () => {
  const ln = layerNorm.create({ normalizedShape: [3, 4] });
  const base = randn([5, 6, 8], 41); // views below are cut from it
  const views: [string, () => Tensor][] = [
    ['transpose of the leading axes', () => randn([6, 2, 3, 4], 42).transpose(1, 0, 2, 3)],
    ['transpose of the normalized axes', () => randn([2, 4, 3], 43).transpose(0, 2, 1)],
    ['everything reversed (transpose 3,2,1,0)', () => randn([4, 3, 2, 5], 44).transpose(3, 2, 1, 0)],
    ['hi/lo slice', () => base.hi(4, 5, 7).lo(1, 2, 3)],
    ['step(-1) on every axis', () => base.hi(5, 3, 4).step(-1, -1, -1)],
    ['step(2) on the leading and last axes', () => randn([6, 3, 8], 45).step(2, 1, 2)],
    ['pick of a middle index', () => randn([2, 3, 3, 4], 46).pick(null, 1, null, null)],
    ['pick of a leading index (contiguous, with an offset: the fast path)', () => randn([3, 2, 3, 4], 46).pick(1, null, null, null)],
  ];
  for (const [what, make] of views) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${what} (${dtype})`, () => {
        const view0 = make();
        const view = dtype === 'float64' ? view0 : sameViewIn(view0, dtype);
        expect(dtypeOf(view)).toBe(dtype);
        expect(isContiguous(view)).toBe(what.includes('fast path'));
        const copy = toContiguous(view);
        const dy = randn(view.shape, 47, dtype);
        const params = randomParams(ln, 48, dtype);
        const strided = run(view, params, dy, ln);
        const contiguous = run(copy, params, dy, ln);
        const tolerance = dtype === 'float64' ? 1e-13 : 3e-7;
        expect(strided.y.shape).toEqual(view.shape);
        expect(scaledError(toTypedArray(strided.y), toTypedArray(contiguous.y))).toBeLessThan(tolerance);
        expect(scaledError(toTypedArray(strided.dx), toTypedArray(contiguous.dx))).toBeLessThan(tolerance);
        expect(scaledError(toTypedArray(strided.grads.weight!), toTypedArray(contiguous.grads.weight!))).toBeLessThan(tolerance);
        expect(scaledError(toTypedArray(strided.grads.bias!), toTypedArray(contiguous.grads.bias!))).toBeLessThan(tolerance);
        expect(scaledError(strided.center, contiguous.center)).toBeLessThan(1e-13);
        // and both agree with the plain reference, which reads through .get
        const ref = referenceLayerNorm(view, ln.options.normalizedShape, ln.options.eps, params.weight, params.bias, dy);
        expect(scaledError(toTypedArray(strided.dx), ref.dx)).toBeLessThan(dtype === 'float64' ? 1e-12 : 3e-7);
      });
    }
  }

  it('a strided dy with a contiguous x (and strided parameters) takes the general path and agrees', () => {
    const x = randn([2, 5, 3, 4], 51);
    const dy = randn([5, 2, 3, 4], 52).transpose(1, 0, 2, 3);
    const params = { weight: randn([4, 3], 53).transpose(1, 0), bias: randn([3, 8], 54).step(1, 2) };
    const strided = run(x, params, dy, ln);
    const contiguousParams = { weight: toContiguous(params.weight), bias: toContiguous(params.bias) };
    const contiguous = run(x, contiguousParams, toContiguous(dy), ln);
    expect(scaledError(toTypedArray(strided.y), toTypedArray(contiguous.y))).toBe(0);
    expect(scaledError(toTypedArray(strided.dx), toTypedArray(contiguous.dx))).toBeLessThan(1e-13);
    expect(scaledError(toTypedArray(strided.grads.weight!), toTypedArray(contiguous.grads.weight!))).toBeLessThan(1e-13);
  });
});

/** The same (non-contiguous) view layout over a copy of the buffer in another dtype. */
function sameViewIn(view: Tensor, dtype: Dtype): Tensor {
  const data = dtype === 'float32' ? Float32Array.from(view.data) : Float64Array.from(view.data);
  return ndarray(data, view.shape.slice(), view.stride.slice(), view.offset);
}

describe('identities', () => {
  it('layer norm over (C,H,W) equals batch-norm arithmetic applied per sample (random shapes, affine off, 1e-12)', () => {
    const random = uniform(2024);
    const size = (max: number) => 1 + Math.floor(random() * max);
    for (let trial = 0; trial < 25; trial++) {
      const shape = [size(4), size(5), size(4), size(4)];
      if (shape[1] * shape[2] * shape[3] < 2) shape[1] = 2;
      const [n, c, h, w] = shape;
      const perSample = c * h * w;
      const eps = [1e-5, 1e-3, 0.1][trial % 3];
      const ln = layerNorm.create({ normalizedShape: [c, h, w], eps, elementwiseAffine: false });
      const x = randn(shape, 300 + trial, 'float64', random() * 4 - 2, 0.1 + random() * 3);
      const dy = randn(shape, 400 + trial);
      const out = run(x, {}, dy, ln);
      // Batch norm sees each sample as one channel and its C·H·W values as the batch:
      // the matrix is (C·H·W) rows × N columns, i.e. x transposed.
      const xs = valuesOf(x);
      const dys = valuesOf(dy);
      const transposed = (values: number[]) => {
        const t = new Array<number>(values.length);
        for (let s = 0; s < n; s++) for (let k = 0; k < perSample; k++) t[k * n + s] = values[s * perSample + k];
        return t;
      };
      const bn = referenceBatchNormColumns(transposed(xs), transposed(dys), perSample, n, eps);
      const back = (values: Float64Array) => {
        const t = new Float64Array(values.length);
        for (let s = 0; s < n; s++) for (let k = 0; k < perSample; k++) t[s * perSample + k] = values[k * n + s];
        return t;
      };
      expect(scaledError(toTypedArray(out.y), back(bn.y))).toBeLessThan(1e-12);
      expect(scaledError(toTypedArray(out.dx), back(bn.dx))).toBeLessThan(1e-12);
    }
  });

  it('without affine, each row has mean 0 and biased variance var/(var + eps) (1e-12)', () => {
    for (const [std, eps] of [
      [1, 1e-5],
      [1e-3, 1e-5], // var ≈ 1e-6: eps matters, the output variance is ≈ 0.09
      [0.05, 0.01],
    ] as const) {
      const ln = layerNorm.create({ normalizedShape: [6, 5], eps, elementwiseAffine: false });
      const x = randn([4, 6, 5], 61, 'float64', 3, std);
      const { y, saved } = ln.forward({ x, params: {}, state: {}, mode: 'train' });
      const ys = toTypedArray(y);
      const xs = toTypedArray(x);
      for (let row = 0; row < 4; row++) {
        const xr = Array.from(xs.subarray(row * 30, row * 30 + 30));
        const yr = Array.from(ys.subarray(row * 30, row * 30 + 30));
        const meanX = xr.reduce((a, b) => a + b, 0) / 30;
        const varX = xr.reduce((a, b) => a + (b - meanX) ** 2, 0) / 30;
        const meanY = yr.reduce((a, b) => a + b, 0) / 30;
        const varY = yr.reduce((a, b) => a + (b - meanY) ** 2, 0) / 30;
        expect(Math.abs(meanY)).toBeLessThan(1e-12);
        expect(Math.abs(varY - varX / (varX + eps)) / (varX / (varX + eps))).toBeLessThan(1e-12);
        expect(Math.abs(saved.invStd[row] - 1 / Math.sqrt(varX + eps)) * Math.sqrt(varX + eps)).toBeLessThan(1e-12);
      }
    }
  });

  it('eval mode computes exactly what train mode computes (bitwise)', () => {
    const ln = layerNorm.create({ normalizedShape: [4] });
    const x = randn([3, 2, 4], 71);
    const params = randomParams(ln, 72);
    const dy = randn([3, 2, 4], 73);
    const train = run(x, params, dy, ln, 'train');
    const evalMode = run(x, params, dy, ln, 'eval');
    expect(Array.from(toTypedArray(evalMode.y))).toEqual(Array.from(toTypedArray(train.y)));
    expect(Array.from(toTypedArray(evalMode.dx))).toEqual(Array.from(toTypedArray(train.dx)));
  });

  it('shifting a row or scaling it by a positive factor leaves its output unchanged when eps is negligible (1e-12)', () => {
    const ln = layerNorm.create({ normalizedShape: [8], eps: 1e-30 });
    const x = randn([2, 8], 81);
    const params = randomParams(ln, 82);
    const y = toTypedArray(ln.forward({ x, params, state: {}, mode: 'train' }).y);
    const shifted = fromArray(Array.from(toTypedArray(x), (v, i) => (i < 8 ? v + 5 : v * 3)), [2, 8], 'float64');
    const y2 = toTypedArray(ln.forward({ x: shifted, params, state: {}, mode: 'train' }).y);
    expect(scaledError(y2, y)).toBeLessThan(1e-12);
  });
});

describe('backward by central finite differences (float64)', () => {
  // L(x, γ, β) = Σ dy ⊙ y, with a random dy (Σ y alone would be a vacuous loss).
  // Step h = 1e-5·max(1, |v|); the error is O(h²) ≈ 1e-9 relative, checked at 1e-6 of the largest gradient.
  function loss(x: Tensor, params: Params, dy: Tensor, ln: LayerNormBound): number {
    const y = toTypedArray(ln.forward({ x, params, state: {}, mode: 'train' }).y);
    const d = toTypedArray(dy);
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += y[i] * d[i];
    return sum;
  }
  function numericGradient(target: Tensor, evaluate: () => number): Float64Array {
    const data = target.data;
    const grad = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const original = data[i];
      const h = 1e-5 * Math.max(1, Math.abs(original));
      data[i] = original + h;
      const plus = evaluate();
      data[i] = original - h;
      const minus = evaluate();
      data[i] = original;
      grad[i] = (plus - minus) / (2 * h);
    }
    return grad;
  }
  for (const input of [...layerNorm.exampleOptions, { normalizedShape: [2, 3], eps: 1e-2 }]) {
    const ln = layerNorm.create(input);
    for (const shape of ln.exampleShapes()) {
      it(`${JSON.stringify(input)} on ${JSON.stringify(shape)}`, () => {
        const x = randn(shape, 91, 'float64', 1, 2);
        const dy = randn(shape, 92);
        const params = randomParams(ln, 93);
        const analytic = run(x, params, dy, ln);
        const evaluate = () => loss(x, params, dy, ln);
        expect(scaledError(toTypedArray(analytic.dx), numericGradient(x, evaluate))).toBeLessThan(1e-6);
        if (params.weight !== undefined) expect(scaledError(toTypedArray(analytic.grads.weight!), numericGradient(params.weight, evaluate))).toBeLessThan(1e-6);
        if (params.bias !== undefined) expect(scaledError(toTypedArray(analytic.grads.bias!), numericGradient(params.bias, evaluate))).toBeLessThan(1e-6);
      });
    }
  }
});

describe('NaN policy and edge shapes', () => {
  it('NaN or Infinity in a row makes that row NaN and leaves the other rows exact; no error', () => {
    const ln = layerNorm.create({ normalizedShape: [4] });
    const params = randomParams(ln, 101);
    const clean = randn([3, 4], 102);
    const dy = randn([3, 4], 103);
    const values = Array.from(toTypedArray(clean));
    values[5] = Number.NaN; // row 1
    values[8] = Number.POSITIVE_INFINITY; // row 2
    const dirty = fromArray(values, [3, 4], 'float64');
    const good = run(clean, params, dy, ln);
    const bad = run(dirty, params, dy, ln);
    const y = toTypedArray(bad.y);
    const dx = toTypedArray(bad.dx);
    expect(Array.from(y.subarray(0, 4))).toEqual(Array.from(toTypedArray(good.y).subarray(0, 4)));
    expect(Array.from(dx.subarray(0, 4))).toEqual(Array.from(toTypedArray(good.dx).subarray(0, 4)));
    expect(Array.from(y.subarray(4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(dx.subarray(4)).every(Number.isNaN)).toBe(true);
    expect(Array.from(toTypedArray(bad.grads.weight!)).every(Number.isNaN)).toBe(true);
    // dbias = Σ dy does not involve x
    expect(Array.from(toTypedArray(bad.grads.bias!))).toEqual(Array.from(toTypedArray(good.grads.bias!)));
  });

  it('x of exactly normalizedShape is one row: one center and one invStd', () => {
    const ln = layerNorm.create({ normalizedShape: [2, 3] });
    const out = run(randn([2, 3], 111), randomParams(ln, 112), randn([2, 3], 113), ln);
    expect(out.center.length).toBe(1);
    expect(out.invStd.length).toBe(1);
    expect(Number.isFinite(out.invStd[0])).toBe(true);
  });

  it('an empty input (a size-0 axis) is refused with E_SHAPE, as in every normkit plugin', () => {
    const ln = layerNorm.create({ normalizedShape: [4] });
    const params = randomParams(ln, 121);
    let code: string | undefined;
    try {
      run(zeros([0, 4], 'float64'), params, zeros([0, 4], 'float64'), ln);
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    expect(code).toBe('E_SHAPE');
  });

  it('saved.x is the input itself (no copy); state is passed through', () => {
    const ln = layerNorm.create({ normalizedShape: [4] });
    const x = randn([2, 4], 131);
    const state = {};
    const out = ln.forward({ x, params: randomParams(ln, 132), state, mode: 'train' });
    expect(out.saved.x).toBe(x);
    expect(out.state).toBe(state);
    expect(out.y).not.toBe(x);
    expect(out.y.data).not.toBe(x.data);
    expect(out.y.stride).toEqual([4, 1]);
  });
});
