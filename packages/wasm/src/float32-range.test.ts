import { batchStatistics, normalizeBackward, normalizeBatch, normalizeForward, planNormalization, viewOf, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn, relativeError, scaledError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { useExplicitBackend, vector } from '../test/explicit-backend.js';
import { centersSplitFloat32, fitsFloat32 } from './float32-range.js';

// The input gradient's per-cell coefficients (b ∝ 1/σ² above all) are float32 in the kernels.
// When σ is huge (1e25) or invStd is (tiny data, tiny eps), they leave float32's normal range and
// the wasm result would lose the x̂·Σ(dy·x̂) term or become ±Infinity; such calls go to the
// TypeScript kernels. Both runs must then agree to float32 accuracy (scaled error 4e-6, as the
// other backend comparisons; 70 % and Infinity before).

const explicit = useExplicitBackend(8 * 1024 * 1024);

describe('fitsFloat32', () => {
  it('passes zero, normal floats and NaN; refuses overflow and subnormal magnitudes', () => {
    expect(fitsFloat32(new Float64Array([0, -0, 1, -3.4e38, 1.2e-38, NaN]))).toBe(true);
    expect(fitsFloat32(new Float64Array([1]), new Float64Array([3.5e38]))).toBe(false);
    expect(fitsFloat32(new Float64Array([-1e-39]))).toBe(false);
    expect(fitsFloat32(new Float64Array([Infinity]))).toBe(false);
  });
});

describe('centersSplitFloat32', () => {
  it('passes zero and centers from 2⁻¹⁰² up, refuses smaller nonzero ones', () => {
    expect(centersSplitFloat32(new Float64Array([0, -0, 1, 2 ** -102, -1e30, NaN]))).toBe(true);
    expect(centersSplitFloat32(new Float64Array([1, 1e-35]))).toBe(false);
  });
});

describe('subnormal data whose invStd fits float32 (eps 1e-43): the centers would lose their low half', () => {
  it.each([
    ['batch norm cells', [8, 5], [1], [1]],
    ['layer norm rows', [4, 8], [0], [1]],
  ] as const)('%s: y, dx and the parameter sums equal the TypeScript kernels (y was off by 3e-3)', (_what, shape, groupAxes, paramAxes) => {
    const x = randn([...shape], 51, 'float32', 0, 1e-43);
    const dy = randn([...shape], 52, 'float32');
    const plan = planNormalization(x.shape, groupAxes, paramAxes);
    const weight = vector(plan.params, 53, 1, 0.5);
    const bias = vector(plan.params, 54, 0, 1);
    const run = () => {
      const y = zeros(x.shape, 'float32');
      const stats = normalizeBatch(viewOf(x), plan, true, 1e-43, weight, bias, viewOf(y));
      const dx = zeros(x.shape, 'float32');
      const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, { centered: true, batchStats: true }, viewOf(dx));
      return { y, dx, sumDyXhat: Float64Array.from(sums?.sumDyXhat ?? []) };
    };
    const wasm = run();
    const ts = explicit.onTypeScript(run);
    expect(scaledError(wasm.y, ts.y)).toBeLessThan(2e-6);
    expect(scaledError(wasm.dx, ts.dx)).toBeLessThan(4e-6);
    expect(relativeError(wasm.sumDyXhat, ts.sumDyXhat)).toBeLessThan(1e-10);
  });
});

describe('backwardCells with coefficients outside float32', () => {
  function backwardWithSums(x: Tensor, dy: Tensor, eps: number, weight: Float64Array = vector(x.shape[1], 7, 1, 0.5)) {
    const plan = planNormalization(x.shape, [1], [1]);
    const stats = batchStatistics(viewOf(x), plan, true, eps);
    const dx = zeros(x.shape, 'float32');
    const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, { centered: true, batchStats: true }, viewOf(dx));
    if (sums === null) throw new Error('a plan with parameters returns its sums');
    return { dx, sumDy: Float64Array.from(sums.sumDy), sumDyXhat: Float64Array.from(sums.sumDyXhat) };
  }
  const backward = (x: Tensor, dy: Tensor, eps: number): Tensor => backwardWithSums(x, dy, eps).dx;

  it.each([
    ['σ ≈ 1e25', 1e25, 1e-5, null],
    ['σ ≈ 1e-20 with eps 1e-43', 1e-20, 1e-43, null],
    ['ordinary data, one channel with a subnormal γ (1e-39)', 1, 1e-5, 1e-39],
  ])('%s: the parameter sums (dβ, dγ) are counted once, as on the TypeScript kernels (they were doubled after a decline)', (_what, scale, eps, tinyGamma) => {
    const x = randn([8, 5], 21, 'float32', 0, scale);
    const dy = randn([8, 5], 22, 'float32');
    const weight = vector(5, 23, 1, 0.5);
    if (tinyGamma !== null) weight[2] = tinyGamma;
    const wasm = backwardWithSums(x, dy, eps, weight);
    const ts = explicit.onTypeScript(() => backwardWithSums(x, dy, eps, weight));
    expect(relativeError(wasm.sumDy, ts.sumDy)).toBeLessThan(1e-10);
    expect(relativeError(wasm.sumDyXhat, ts.sumDyXhat)).toBeLessThan(1e-10);
    expect(scaledError(wasm.dx, ts.dx)).toBeLessThan(4e-6);
  });

  it.each([
    ['σ ≈ 1e25', 1e25, 1e-5],
    ['σ ≈ 1e21', 1e21, 1e-5],
    ['σ ≈ 1e-20 with eps 1e-43', 1e-20, 1e-43],
  ])('%s: declined (the fused backwardCells, then the split inputGradient), and dx equals the TypeScript kernels', (_what, scale, eps) => {
    const x = randn([8, 5], 11, 'float32', 0, scale);
    const dy = randn([8, 5], 12, 'float32');
    const declinedBefore = explicit.backend.counters.declined;
    const wasm = backward(x, dy, eps);
    const declined = explicit.backend.counters.declined - declinedBefore;
    const ts = explicit.onTypeScript(() => backward(x, dy, eps));
    expect(Array.from(wasm.data).every(Number.isFinite)).toBe(true);
    expect(scaledError(wasm, ts)).toBeLessThan(4e-6);
    expect(declined).toBe(2);
  });

  it('ordinary data still runs in wasm', () => {
    const x = randn([8, 5], 13, 'float32', 3, 2);
    const dy = randn([8, 5], 14, 'float32');
    const handledBefore = explicit.backend.counters.kernels.backwardCells;
    const wasm = backward(x, dy, 1e-5);
    expect(explicit.backend.counters.kernels.backwardCells - handledBefore).toBe(1);
    expect(scaledError(wasm, explicit.onTypeScript(() => backward(x, dy, 1e-5)))).toBeLessThan(4e-6);
  });
});

describe('forward and rows kernels with constants outside float32', () => {
  it('the fused normalizeBatch (cells): γ·invStd above float32 is declined before anything is committed; y equals the TypeScript kernels (it was ±Infinity)', () => {
    const x = randn([8, 3], 31, 'float32', 0, 1e-20);
    const plan = planNormalization(x.shape, [1], [1]);
    const weight = new Float64Array([1e19, 1, 1]);
    const bias = new Float64Array(3);
    const run = () => {
      const y = zeros(x.shape, 'float32');
      const stats = normalizeBatch(viewOf(x), plan, true, 1e-43, weight, bias, viewOf(y));
      return { y, invStd: Float64Array.from(stats.invStd) };
    };
    const wasm = run();
    const ts = explicit.onTypeScript(run);
    expect(Array.from(wasm.y.data).every(Number.isFinite)).toBe(true);
    expect(scaledError(wasm.y, ts.y)).toBeLessThan(2e-6);
    expect(relativeError(wasm.invStd, ts.invStd)).toBeLessThan(1e-10);
  });

  it('layer-norm rows: an invStd above float32 (subnormal data, eps 1e-90) is declined in the forward, fused or not, and the backward', () => {
    const x = randn([4, 8], 41, 'float32', 0, 1e-40);
    const dy = randn([4, 8], 42, 'float32');
    const plan = planNormalization(x.shape, [0], [1]);
    // γ ≈ 1e-10 keeps dx = invStd·γ·(…) ≈ 1e30 inside float32, so both paths can be compared.
    const weight = vector(8, 43, 1, 0.5).map((g) => g * 1e-10);
    const bias = vector(8, 44, 0, 1);
    const run = () => {
      const fused = zeros(x.shape, 'float32');
      const stats = normalizeBatch(viewOf(x), plan, true, 1e-90, weight, bias, viewOf(fused));
      const split = zeros(x.shape, 'float32');
      normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(split));
      const dx = zeros(x.shape, 'float32');
      normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, { centered: true, batchStats: true }, viewOf(dx));
      return { fused, split, dx };
    };
    const wasm = run();
    const ts = explicit.onTypeScript(run);
    for (const key of ['fused', 'split', 'dx'] as const) {
      expect(Array.from(wasm[key].data).every(Number.isFinite), key).toBe(true);
      expect(scaledError(wasm[key], ts[key]), key).toBeLessThan(4e-6);
    }
  });
});
