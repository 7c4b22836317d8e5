import { afterEach, describe, expect, it } from 'vitest';
import type { BackwardCellsCall, NormalizeBatchCall } from './calls.js';
import { registerKernel, resetKernelRegistry } from './kernel-registry.js';
import { addCellParamSums, batchStatistics, cellGradientCoefficients, cellInputGradientCoefficients, normalizeBackward, normalizeBatch, normalizeForward } from './ops.js';
import { planNormalization } from './plan.js';
import type { StridedView } from './view.js';

// The fused kernels are the sum of their steps: without a backend, `normalizeBatch` is exactly
// `moments` + the forward map, and `backwardCells` exactly the split backward (bit for bit,
// since the same float64 operations run in the same order); a backend that takes the fused
// call replaces both steps; one that declines it leaves the steps to the registry.

function view(values: readonly number[], shape: readonly number[]): StridedView {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k];
  }
  return { data: Float64Array.from(values), shape, strides, offset: 0 };
}

function values(n: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: n }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 1073741824 - 1;
  });
}

afterEach(() => resetKernelRegistry());

describe('fused kernels', () => {
  for (const [name, shape, groupAxes, paramAxes] of [
    ['batch norm (2, 3, 4)', [2, 3, 4], [1], [1]],
    ['layer norm rows (3, 5)', [3, 5], [0], [1]],
    ['group norm (2, 2, 2, 3)', [2, 2, 2, 3], [0, 1], [1, 2]],
  ] as const) {
    it(`${name}: normalizeBatch equals batchStatistics + normalizeForward bit for bit, and backwardCells the split backward`, () => {
      const plan = planNormalization(shape, groupAxes, paramAxes);
      const size = shape.reduce((a, b) => a * b, 1);
      const x = view(values(size, 1), shape);
      const weight = Float64Array.from(values(plan.params, 2));
      const bias = Float64Array.from(values(plan.params, 3));
      const yFused = view(new Array(size).fill(0), shape);
      const stats = normalizeBatch(x, plan, true, 1e-5, weight, bias, yFused);
      const split = batchStatistics(x, plan, true, 1e-5);
      const ySplit = view(new Array(size).fill(0), shape);
      normalizeForward(x, plan, split, weight, bias, ySplit);
      expect(Array.from(yFused.data)).toEqual(Array.from(ySplit.data));
      expect(Array.from(stats.invStd)).toEqual(Array.from(split.invStd));
      const dy = view(values(size, 4), shape);
      const dxFused = view(new Array(size).fill(0), shape);
      const sums = normalizeBackward(x, dy, plan, stats, weight, { centered: true, batchStats: true }, dxFused);
      const dxHook = view(new Array(size).fill(0), shape);
      // a no-op hook forces the split path
      const sumsSplit = normalizeBackward(x, dy, plan, stats, weight, { centered: true, batchStats: true, reduceGroupSums: plan.affine.kind === 'cells' ? () => {} : undefined }, dxHook);
      expect(Array.from(dxFused.data)).toEqual(Array.from(dxHook.data));
      expect(Array.from(sums!.sumDyXhat)).toEqual(Array.from(sumsSplit!.sumDyXhat));
    });
  }

  it('normalizeBatch calls beforeWrite once with the statistics, before y; when it throws, y is untouched', () => {
    const plan = planNormalization([3, 2], [1], [1]);
    const x = view([1, 2, 3, 5, 5, 8], [3, 2]);
    const y = view(new Array(6).fill(-1), [3, 2]);
    const seen: number[][] = [];
    expect(() =>
      normalizeBatch(x, plan, true, 1e-5, null, null, y, (center) => {
        seen.push(Array.from(center));
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(seen).toEqual([[3, 5]]);
    expect(Array.from(y.data)).toEqual(new Array(6).fill(-1));
  });

  it('a backend that takes the fused call replaces both steps; one that declines leaves them to the registry', () => {
    const plan = planNormalization([4, 2], [1], [1]);
    const x = view(values(8, 5), [4, 2]);
    const y = view(new Array(8).fill(0), [4, 2]);
    const seen: string[] = [];
    registerKernel({ kernel: 'moments', backend: 'spy', priority: 1, run: () => (seen.push('moments'), false) });
    registerKernel({ kernel: 'normalizeCells', backend: 'spy', priority: 1, run: () => (seen.push('normalizeCells'), false) });
    const off = registerKernel({ kernel: 'normalizeBatch', backend: 'spy', priority: 1, run: () => (seen.push('normalizeBatch'), false) });
    normalizeBatch(x, plan, true, 1e-5, null, null, y);
    expect(seen).toEqual(['normalizeBatch', 'moments', 'normalizeCells']);
    off();
    seen.length = 0;
    registerKernel({
      kernel: 'normalizeBatch',
      backend: 'fake',
      priority: 2,
      run: (call: NormalizeBatchCall) => {
        call.center.fill(7);
        call.invStd.fill(1);
        (call.y.data as Float64Array).fill(42);
        return true;
      },
    });
    const stats = normalizeBatch(x, plan, true, 1e-5, null, null, y);
    expect(seen).toEqual([]);
    expect(Array.from(stats.center)).toEqual([7, 7]);
    expect(Array.from(y.data)).toEqual(new Array(8).fill(42));
    let fusedBackward = 0;
    registerKernel({ kernel: 'backwardCells', backend: 'fake', priority: 2, run: (_call: BackwardCellsCall) => (fusedBackward++, true) });
    normalizeBackward(x, x, plan, stats, null, { centered: true, batchStats: true }, y);
    normalizeBackward(x, x, plan, stats, null, { centered: true, batchStats: true, reduceGroupSums: () => {} }, y);
    expect(fusedBackward).toBe(1); // the hook's call ran the split path
  });

  it('a backend that folds with cellInputGradientCoefficients and then declines leaves the parameter sums to the fallback (counted once)', () => {
    const shape = [6, 3];
    const plan = planNormalization(shape, [1], [1]);
    const x = view(values(18, 6), shape);
    const dy = view(values(18, 7), shape);
    const weight = Float64Array.from(values(3, 8));
    const stats = batchStatistics(x, plan, true, 1e-5);
    const mode = { centered: true, batchStats: true };
    const reference = normalizeBackward(x, dy, plan, stats, weight, mode, view(new Array(18).fill(0), shape))!;
    let folded: { a: number[]; sumDy: number[]; combinedA: number[]; combinedSumDy: number[]; added: number[] } | null = null;
    registerKernel({
      kernel: 'backwardCells',
      backend: 'declines-after-folding',
      priority: 2,
      run: (call: BackwardCellsCall) => {
        const n = call.cells.cells;
        const sumDy = Float64Array.from(values(n, 9));
        const sumDyCentered = Float64Array.from(values(n, 10));
        const { a } = cellInputGradientCoefficients(call, sumDy, sumDyCentered);
        const untouched = Array.from(call.sumDy);
        // the combined function is the two in a row, on a copy of the call's sums
        const copy = { ...call, sumDy: new Float64Array(call.sumDy.length), sumDyXhat: new Float64Array(call.sumDyXhat.length) };
        const combined = cellGradientCoefficients(copy, sumDy, sumDyCentered);
        const added = { ...call, sumDy: new Float64Array(call.sumDy.length), sumDyXhat: new Float64Array(call.sumDyXhat.length) };
        addCellParamSums(added, sumDy, sumDyCentered);
        folded = { a: Array.from(a), sumDy: untouched, combinedA: Array.from(combined.a), combinedSumDy: Array.from(copy.sumDy), added: Array.from(added.sumDy) };
        return false;
      },
    });
    const sums = normalizeBackward(x, dy, plan, stats, weight, mode, view(new Array(18).fill(0), shape))!;
    expect(folded).not.toBeNull();
    const seen = folded!;
    expect(seen.sumDy).toEqual([0, 0, 0]);
    expect(seen.combinedA).toEqual(seen.a);
    expect(seen.combinedSumDy).toEqual(seen.added);
    expect(seen.added).toEqual(values(3, 9));
    expect(Array.from(sums.sumDy)).toEqual(Array.from(reference.sumDy));
    expect(Array.from(sums.sumDyXhat)).toEqual(Array.from(reference.sumDyXhat));
  });
});
