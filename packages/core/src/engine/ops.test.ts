import { describe, expect, it } from 'vitest';
import {
  countOf,
  forEachIndex,
  jointIndex,
  layView,
  normalValues,
  outsideUntouched,
  readView,
  referenceMoments,
  sizeOfShape,
  worstError,
  worstRelativeError,
} from '../../test/views.js';
import type { ViewKind } from '../../test/views.js';
import type { BackwardMode, NormStatistics } from './ops.js';
import { batchStatistics, normalizeBackward, normalizeForward } from './ops.js';
import { planNormalization } from './plan.js';
import type { StridedView } from './view.js';
import { splitAxis } from './view.js';

// The three ops every plugin runs, against a plain float64 definition: statistics per group,
// y = (x − c_g)·invStd_g·γ_p + β_p, and the backward pass checked two ways — against its
// closed form written out per group (1e-12), and against central finite differences of the
// plain forward map (h = 1e-6·max(1, |x|): truncation O(h²) and rounding O(ε/h) keep the
// difference quotient within ~1e-8 of the derivative; checked at 1e-6 of the largest entry).

interface OpsCase {
  readonly name: string;
  readonly shape: readonly number[];
  readonly groupAxes: readonly number[];
  readonly paramAxes: readonly number[] | null;
}

const CASES: readonly OpsCase[] = [
  { name: 'batch norm (N, C, L)', shape: [3, 2, 4], groupAxes: [1], paramAxes: [1] },
  { name: 'batch norm channels-last (N, L, C)', shape: [4, 3, 2], groupAxes: [2], paramAxes: [2] },
  { name: 'instance norm channels-last (N, L, C)', shape: [2, 5, 3], groupAxes: [0, 2], paramAxes: [2] },
  { name: 'layer norm (rows, features) with an affine', shape: [3, 2, 3], groupAxes: [0], paramAxes: [1, 2] },
  { name: 'statistics per axis 1, parameters over axes 0 and 2 (rows, not leading)', shape: [2, 3, 4], groupAxes: [1], paramAxes: [0, 2] },
  { name: 'no parameters', shape: [4, 2, 3], groupAxes: [0], paramAxes: null },
];

interface Setup {
  readonly x: Float64Array;
  readonly dy: Float64Array;
  readonly weight: Float64Array | null;
  readonly bias: Float64Array | null;
}

function setupOf(c: OpsCase, seed: number): Setup {
  const size = sizeOfShape(c.shape);
  const params = c.paramAxes === null ? 0 : countOf(c.shape, c.paramAxes);
  return {
    x: normalValues(size, seed, 0.5, 2),
    dy: normalValues(size, seed + 1),
    weight: c.paramAxes === null ? null : normalValues(params, seed + 2, 1, 0.5),
    bias: c.paramAxes === null ? null : normalValues(params, seed + 3),
  };
}

/** The plain forward map with its own statistics (centered: mean; else 0 and the mean square). */
function plainForward(c: OpsCase, x: ArrayLike<number>, s: Setup, centered: boolean, eps: number): Float64Array {
  const { mean, variance } = referenceMoments(x, c.shape, c.groupAxes, centered);
  const y = new Float64Array(x.length);
  forEachIndex(c.shape, (index, flat) => {
    const g = jointIndex(index, c.shape, c.groupAxes);
    const p = c.paramAxes === null ? 0 : jointIndex(index, c.shape, c.paramAxes);
    const gamma = s.weight === null ? 1 : s.weight[p];
    const beta = s.bias === null ? 0 : s.bias[p];
    y[flat] = ((x[flat] - mean[g]) / Math.sqrt(variance[g] + eps)) * gamma + beta;
  });
  return y;
}

/** ∂(Σ dy·y)/∂x by central differences of {@link plainForward}. */
function finiteDifferenceDx(c: OpsCase, s: Setup, centered: boolean, eps: number): Float64Array {
  const x = s.x.slice();
  const loss = () => plainForward(c, x, s, centered, eps).reduce((sum, y, i) => sum + y * s.dy[i], 0);
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const original = x[i];
    const h = 1e-6 * Math.max(1, Math.abs(original));
    x[i] = original + h;
    const plus = loss();
    x[i] = original - h;
    const minus = loss();
    x[i] = original;
    dx[i] = (plus - minus) / (2 * h);
  }
  return dx;
}

/** The backward pass written out per group: dx = s·(g − κ/m·Σg − x̂/m·Σg·x̂), Σdy and Σdy·x̂ per parameter. */
function closedFormBackward(c: OpsCase, s: Setup, stats: NormStatistics, mode: BackwardMode) {
  const groups = countOf(c.shape, c.groupAxes);
  const count = mode.count ?? sizeOfShape(c.shape) / groups;
  const params = c.paramAxes === null ? 0 : countOf(c.shape, c.paramAxes);
  const sumG = new Float64Array(groups);
  const sumGX = new Float64Array(groups);
  const sumDy = new Float64Array(params);
  const sumDyXhat = new Float64Array(params);
  const at = (index: readonly number[], flat: number) => {
    const g = jointIndex(index, c.shape, c.groupAxes);
    const p = c.paramAxes === null ? 0 : jointIndex(index, c.shape, c.paramAxes);
    const xhat = (s.x[flat] - stats.center[g]) * stats.invStd[g];
    const grad = s.dy[flat] * (s.weight === null ? 1 : s.weight[p]);
    return { g, p, xhat, grad };
  };
  forEachIndex(c.shape, (index, flat) => {
    const { g, p, xhat, grad } = at(index, flat);
    sumG[g] += grad;
    sumGX[g] += grad * xhat;
    if (params > 0) {
      sumDy[p] += s.dy[flat];
      sumDyXhat[p] += s.dy[flat] * xhat;
    }
  });
  const dx = new Float64Array(s.x.length);
  forEachIndex(c.shape, (index, flat) => {
    const { g, xhat, grad } = at(index, flat);
    const kappa = mode.batchStats && mode.centered ? 1 : 0;
    const lambda = mode.batchStats ? 1 : 0;
    dx[flat] = stats.invStd[g] * (grad - (kappa * sumG[g]) / count - (lambda * xhat * sumGX[g]) / count);
  });
  return { dx, sumDy, sumDyXhat };
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

function scaledDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / Math.max(1, maxAbs(b));
}

const KINDS: readonly ViewKind[] = ['contiguous', 'permuted', 'negative'];

describe('batchStatistics', () => {
  for (const c of CASES) {
    it(`${c.name}: center, biased variance and 1/√(σ² + ε) per group, centered and uncentered`, () => {
      const s = setupOf(c, 1);
      const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
      for (const kind of KINDS) {
        for (const centered of [true, false]) {
          const stats = batchStatistics(layView(s.x, c.shape, kind), plan, centered, 1e-3);
          const ref = referenceMoments(s.x, c.shape, c.groupAxes, centered);
          expect(worstError(stats.center, ref.mean)).toBeLessThan(1e-12);
          expect(worstRelativeError(stats.variance, ref.variance)).toBeLessThan(1e-12);
          expect(worstRelativeError(stats.invStd, Array.from(ref.variance, (v) => 1 / Math.sqrt(v + 1e-3)))).toBeLessThan(1e-12);
        }
      }
    });
  }
});

describe('normalizeForward', () => {
  for (const c of CASES) {
    it(`${c.name}: y = (x − c)·invStd·γ + β on every view kind, with and without γ and β`, () => {
      const s = setupOf(c, 11);
      const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
      const stats = batchStatistics(layView(s.x, c.shape, 'contiguous'), plan, true, 1e-5);
      const affines: [Float64Array | null, Float64Array | null][] =
        c.paramAxes === null
          ? [[null, null]]
          : [
              [s.weight, s.bias],
              [s.weight, null],
              [null, s.bias],
            ];
      for (const [weight, bias] of affines) {
        const expected = plainForward(c, s.x, { ...s, weight, bias }, true, 1e-5);
        for (const kind of KINDS) {
          const y = layView(new Float64Array(s.x.length).fill(Number.NaN), c.shape, kind === 'contiguous' ? 'contiguous' : 'gapped');
          normalizeForward(layView(s.x, c.shape, kind), plan, stats, weight, bias, y);
          expect(worstError(readView(y), expected)).toBeLessThan(1e-12);
          expect(outsideUntouched(y)).toBe(true);
        }
      }
    });
  }
});

describe('normalizeBackward', () => {
  const modes: [string, BackwardMode, boolean][] = [
    ['batch statistics, centered', { centered: true, batchStats: true }, true],
    ['batch statistics, uncentered (RMS)', { centered: false, batchStats: true }, false],
    ['constant statistics (eval)', { centered: true, batchStats: false }, true],
  ];
  for (const c of CASES) {
    for (const [modeName, mode, centered] of modes) {
      it(`${c.name}, ${modeName}: the closed form at 1e-12, finite differences at 1e-6`, () => {
        const s = setupOf(c, 21);
        const eps = 1e-3;
        const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
        const stats = batchStatistics(layView(s.x, c.shape, 'contiguous'), plan, centered, eps);
        const closed = closedFormBackward(c, s, stats, mode);
        for (const kind of KINDS) {
          const dx = layView(new Float64Array(s.x.length).fill(Number.NaN), c.shape, kind === 'negative' ? 'gapped' : kind);
          const sums = normalizeBackward(layView(s.x, c.shape, kind), layView(s.dy, c.shape, kind === 'contiguous' ? 'contiguous' : 'negative'), plan, stats, s.weight, mode, dx);
          expect(worstError(readView(dx), closed.dx)).toBeLessThan(1e-12);
          expect(outsideUntouched(dx)).toBe(true);
          if (c.paramAxes === null) expect(sums).toBeNull();
          else {
            expect(worstError(sums?.sumDy ?? [], closed.sumDy)).toBeLessThan(1e-12);
            expect(worstError(sums?.sumDyXhat ?? [], closed.sumDyXhat)).toBeLessThan(1e-12);
          }
        }
        if (mode.batchStats) {
          // the closed form is the derivative of the plain forward map with batch statistics
          expect(scaledDifference(closed.dx, finiteDifferenceDx(c, s, centered, eps))).toBeLessThan(1e-6);
        } else {
          // constant statistics: dx = invStd·γ·dy exactly what the closed form says
          const plainDx = new Float64Array(s.x.length);
          forEachIndex(c.shape, (index, flat) => {
            const g = jointIndex(index, c.shape, c.groupAxes);
            const p = c.paramAxes === null ? 0 : jointIndex(index, c.shape, c.paramAxes);
            plainDx[flat] = stats.invStd[g] * (s.weight === null ? 1 : s.weight[p]) * s.dy[flat];
          });
          expect(worstError(closed.dx, plainDx)).toBeLessThan(1e-14);
        }
      });
    }
  }

  it('a count of 1 differentiates σ² = Σ x² (weight norm’s squared norm), checked by finite differences', () => {
    // y = x·γ/√(Σ_g x² + ε) per row of (3, 4): centered false, batch statistics, count 1.
    const shape = [3, 4];
    const c: OpsCase = { name: 'rows', shape, groupAxes: [0], paramAxes: [1] };
    const s = setupOf(c, 31);
    const eps = 1e-4;
    const plan = planNormalization(shape, [0], [1]);
    const sumSquares = (x: ArrayLike<number>) => [0, 1, 2].map((r) => [0, 1, 2, 3].reduce((sum, j) => sum + x[r * 4 + j] ** 2, 0));
    const stats: NormStatistics = { center: new Float64Array(3), invStd: Float64Array.from(sumSquares(s.x), (q) => 1 / Math.sqrt(q + eps)) };
    const dx = layView(new Float64Array(12), shape, 'contiguous');
    normalizeBackward(layView(s.x, shape, 'contiguous'), layView(s.dy, shape, 'contiguous'), plan, stats, s.weight, { centered: false, batchStats: true, count: 1 }, dx);
    const x = s.x.slice();
    const loss = () => {
      const q = sumSquares(x);
      let sum = 0;
      for (let i = 0; i < 12; i++) sum += s.dy[i] * ((x[i] / Math.sqrt(q[Math.floor(i / 4)] + eps)) * (s.weight as Float64Array)[i % 4]);
      return sum;
    };
    const numeric = new Float64Array(12);
    for (let i = 0; i < 12; i++) {
      const original = x[i];
      const h = 1e-6 * Math.max(1, Math.abs(original));
      x[i] = original + h;
      const plus = loss();
      x[i] = original - h;
      const minus = loss();
      x[i] = original;
      numeric[i] = (plus - minus) / (2 * h);
    }
    expect(scaledDifference(readView(dx), numeric)).toBeLessThan(1e-6);
  });

  it('group norm through splitAxis: (N, C, L) read as (N, G, C/G, L) on a strided view, groups (n, g), parameters per channel', () => {
    // x stored channels-last (N, L, C) and seen as (N, C, L) through a transpose, then split
    const [N, C, L, G] = [2, 6, 3, 2];
    const split = [N, G, C / G, L];
    const c: OpsCase = { name: 'group norm', shape: split, groupAxes: [0, 1], paramAxes: [1, 2] };
    const s = setupOf(c, 41);
    // lay the (N, G, C/G, L) values into an (N, L, C) buffer
    const stored = new Float64Array(N * L * C);
    forEachIndex(split, ([n, g, k, l], flat) => {
      stored[(n * L + l) * C + g * (C / G) + k] = s.x[flat];
    });
    const nlc: StridedView = { data: stored, shape: [N, C, L], strides: [L * C, 1, C], offset: 0 };
    const x = splitAxis(nlc, 1, [G, C / G]);
    const plan = planNormalization(split, [0, 1], [1, 2]);
    const stats = batchStatistics(x, plan, true, 1e-5);
    const y = layView(new Float64Array(s.x.length), split, 'contiguous');
    normalizeForward(x, plan, stats, s.weight, s.bias, y);
    expect(worstError(readView(y), plainForward(c, s.x, s, true, 1e-5))).toBeLessThan(1e-12);
    const dx = layView(new Float64Array(s.x.length), split, 'contiguous');
    const sums = normalizeBackward(x, layView(s.dy, split, 'contiguous'), plan, stats, s.weight, { centered: true, batchStats: true }, dx);
    const closed = closedFormBackward(c, s, stats, { centered: true, batchStats: true });
    expect(worstError(readView(dx), closed.dx)).toBeLessThan(1e-12);
    expect(worstError(sums?.sumDyXhat ?? [], closed.sumDyXhat)).toBeLessThan(1e-12);
  });

  it('one value per group (x̂ = 0): y = β and dx = 0 exactly, not rounding noise, on fast and strided paths', () => {
    // Layer norm over a trailing axis of size 1, and batch-norm-like (1, C) statistics: every
    // group has one value, so y does not depend on x at all. Large |x·invStd| (invStd = 1/√ε
    // ≈ 316) is where a folded center or a reassociated product would leave ~1e-14 behind.
    const layouts: [number[], number[], number[]][] = [
      [[64, 1], [0], [1]],
      [[1, 16], [1], [1]],
      [[4, 1, 8], [0, 2], [2]],
    ];
    for (const [shape, groupAxes, paramAxes] of layouts) {
      const size = sizeOfShape(shape);
      const plan = planNormalization(shape, groupAxes, paramAxes);
      expect(plan.count).toBe(1);
      const params = countOf(shape, paramAxes);
      for (let seed = 1; seed <= 20; seed++) {
        const x = normalValues(size, seed, 0, 10);
        const dyValues = normalValues(size, seed + 100);
        const weight = normalValues(params, seed + 200, 1, 0.5);
        const bias = normalValues(params, seed + 300);
        for (const kind of ['contiguous', 'negative'] as const) {
          const xView = layView(x, shape, kind);
          const stats = batchStatistics(xView, plan, true, 1e-5);
          const y = layView(new Float64Array(size), shape, 'contiguous');
          normalizeForward(xView, plan, stats, weight, bias, y);
          const expectedY = new Float64Array(size);
          forEachIndex(shape, (index, flat) => {
            expectedY[flat] = bias[jointIndex(index, shape, paramAxes)];
          });
          expect(Array.from(readView(y))).toEqual(Array.from(expectedY));
          const dx = layView(new Float64Array(size).fill(Number.NaN), shape, 'contiguous');
          normalizeBackward(xView, layView(dyValues, shape, kind), plan, stats, weight, { centered: true, batchStats: true }, dx);
          expect(readView(dx).every((v) => v === 0)).toBe(true);
        }
      }
    }
  });
});
