import { describe, expect, it } from 'vitest';
import {
  VIEW_KINDS,
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
import type { CellsLayout, NormPlan, RowsLayout } from './plan.js';
import { planNormalization } from './plan.js';
import { gradientSumsKernel, inputGradientKernel, normalizeCellsKernel } from './kernels/cells.js';
import { CONDITION_LIMIT, momentsKernel } from './kernels/moments.js';
import { backwardRowsKernel, normalizeRowsKernel } from './kernels/rows.js';
import type { StridedView } from './view.js';

// Every kernel's TypeScript implementation against plain float64 loops over multi-indices
// (test/views.ts), for each layout the engine blocks differently and each way a view can sit
// in memory. Contiguous and offset views take the blocked fast paths; permuted, negative and
// gapped views take the strided walk. Inputs are O(1) (N(0.5, 2²)), so a float64 result
// carries a few ulps of rounding: the tolerance is 1e-12 relative to max(1, |expected|).
const TOL64 = 1e-12;
// A float32 output is the float64 result rounded once: at most half an ulp, 2⁻²⁴ relative.
const TOL32 = 2 ** -24 + TOL64;

interface LayoutCase {
  readonly name: string;
  readonly shape: readonly number[];
  readonly groupAxes: readonly number[];
  readonly paramAxes: readonly number[] | null;
  /** The statistics blocking the plan must find (so the contiguous views really take that path). */
  readonly statsBlocks: { A: number; B: number; C: number; D: number };
  /** `'rows'`, or the cells blocking. */
  readonly affine: 'rows' | { A: number; B: number; C: number; D: number } | null;
}

const CASES: readonly LayoutCase[] = [
  {
    name: 'planes (D > 1): batch norm on (N, C, H, W)',
    shape: [3, 4, 5, 6],
    groupAxes: [1],
    paramAxes: [1],
    statsBlocks: { A: 1, B: 3, C: 4, D: 30 },
    affine: { A: 1, B: 3, C: 4, D: 30 },
  },
  {
    name: 'columns (D = 1): batch norm channels-last (N, H, W, C), rows % 4 = 2',
    shape: [3, 5, 2, 7],
    groupAxes: [3],
    paramAxes: [3],
    statsBlocks: { A: 1, B: 30, C: 7, D: 1 },
    affine: { A: 1, B: 30, C: 7, D: 1 },
  },
  {
    name: 'A > 1 columns: instance norm (groups N, C) on channels-last (N, H, W, C)',
    shape: [2, 5, 3, 3],
    groupAxes: [0, 3],
    paramAxes: [3],
    statsBlocks: { A: 2, B: 15, C: 3, D: 1 },
    affine: { A: 2, B: 15, C: 3, D: 1 },
  },
  {
    name: 'A > 1 planes: groups on axes 0 and 2 of (2, 3, 4, 5), parameters on axis 2',
    shape: [2, 3, 4, 5],
    groupAxes: [0, 2],
    paramAxes: [2],
    statsBlocks: { A: 2, B: 3, C: 4, D: 5 },
    affine: { A: 2, B: 3, C: 4, D: 5 },
  },
  {
    name: 'instance norm on (N, C, L): groups and cells (N·C) over planes of L',
    shape: [2, 3, 9],
    groupAxes: [0, 1],
    paramAxes: [1],
    statsBlocks: { A: 1, B: 1, C: 6, D: 9 },
    affine: { A: 1, B: 1, C: 6, D: 9 },
  },
  {
    name: 'no parameters: cells are the groups',
    shape: [5, 3, 7],
    groupAxes: [1],
    paramAxes: null,
    statsBlocks: { A: 1, B: 5, C: 3, D: 7 },
    affine: { A: 1, B: 5, C: 3, D: 7 },
  },
  {
    name: 'rows: layer norm on (9, 2, 5) over the trailing (2, 5), rows % 4 = 1',
    shape: [9, 2, 5],
    groupAxes: [0],
    paramAxes: [1, 2],
    statsBlocks: { A: 1, B: 1, C: 9, D: 10 },
    affine: 'rows',
  },
  {
    name: 'rows with the groups inside: statistics per axis 1, parameters over axes 0 and 2',
    shape: [4, 5, 6],
    groupAxes: [1],
    paramAxes: [0, 2],
    statsBlocks: { A: 1, B: 4, C: 5, D: 6 },
    affine: 'rows',
  },
];

/** Union of the group and parameter axes: the cell axes. */
function cellAxesOf(c: LayoutCase): number[] {
  return [...new Set([...c.groupAxes, ...(c.paramAxes ?? [])])].sort((a, b) => a - b);
}

function cellsOf(plan: NormPlan): CellsLayout {
  if (plan.affine.kind !== 'cells') throw new Error('expected a cells layout');
  return plan.affine;
}

function rowsOf(plan: NormPlan): RowsLayout {
  if (plan.affine.kind !== 'rows') throw new Error('expected a rows layout');
  return plan.affine;
}

/** A fresh output view of `kind`, its buffer filled with NaN. */
function emptyView(shape: readonly number[], kind: ViewKind, dtype: 'float32' | 'float64'): StridedView {
  return layView(new Float64Array(sizeOfShape(shape)).fill(Number.NaN), shape, kind, dtype);
}

/**
 * The layout of the other operands (dy, y) when x has `kind`: row-major ones stay row-major
 * (the blocked paths, with offsets for `offset`), strided ones get another stride pattern, and
 * a gapped x meets row-major partners (one strided operand is enough to leave the fast path).
 */
function partnerOf(kind: ViewKind): ViewKind {
  const partners: Record<ViewKind, ViewKind> = { contiguous: 'contiguous', offset: 'offset', permuted: 'negative', negative: 'permuted', gapped: 'contiguous' };
  return partners[kind];
}

function worstFor(dtype: 'float32' | 'float64'): number {
  return dtype === 'float32' ? TOL32 : TOL64;
}

describe('planning finds the blocking each case is meant to exercise', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
      expect(plan.statsBlocks).toEqual(c.statsBlocks);
      if (c.affine === 'rows') expect(plan.affine.kind).toBe('rows');
      else expect(cellsOf(plan).blocks).toEqual(c.affine);
    });
  }
});

describe('moments kernel vs the two-pass float64 reference', () => {
  for (const c of CASES) {
    for (const kind of VIEW_KINDS) {
      for (const dtype of ['float64', 'float32'] as const) {
        it(`${c.name}, ${kind} view, ${dtype}`, () => {
          const values = normalValues(sizeOfShape(c.shape), 11, 0.5, 2);
          const x = layView(values, c.shape, kind, dtype);
          const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
          for (const centered of [true, false]) {
            const mean = new Float64Array(plan.groups).fill(Number.NaN);
            const variance = new Float64Array(plan.groups).fill(Number.NaN);
            momentsKernel({ x, plan, centered, mean, variance });
            const ref = referenceMoments(values, c.shape, c.groupAxes, centered);
            // the outputs are float64 whatever the input dtype (the values are float32-exact)
            expect(worstError(mean, ref.mean)).toBeLessThan(TOL64);
            expect(worstRelativeError(variance, ref.variance)).toBeLessThan(TOL64);
            if (!centered) expect(Array.from(mean).every((m) => m === 0)).toBe(true);
          }
        });
      }
    }
  }

  it('uncentered moments are the mean square about 0, not the variance', () => {
    // groups (rows) [1, 2, 3] and [-1, 1, 3]: mean squares 14/3 and 11/3; variances 2/3 and 8/3
    const x = layView([1, 2, 3, -1, 1, 3], [2, 3], 'contiguous');
    const plan = planNormalization([2, 3], [0], null);
    const mean = new Float64Array(2);
    const variance = new Float64Array(2);
    momentsKernel({ x, plan, centered: false, mean, variance });
    expect(Array.from(mean)).toEqual([0, 0]);
    expect(variance[0]).toBeCloseTo(14 / 3, 15);
    expect(variance[1]).toBeCloseTo(11 / 3, 15);
    momentsKernel({ x, plan, centered: true, mean, variance });
    expect(Array.from(mean)).toEqual([2, 1]);
    expect(variance[0]).toBeCloseTo(2 / 3, 15);
    expect(variance[1]).toBeCloseTo(8 / 3, 15);
  });

  it('a constant group has variance exactly 0, and NaN stays in its own group', () => {
    const x = layView([0.1, 0.1, 0.1, 0.1, 1, Number.NaN, 2, 3], [2, 4], 'contiguous');
    const plan = planNormalization([2, 4], [0], null);
    const mean = new Float64Array(2);
    const variance = new Float64Array(2);
    momentsKernel({ x, plan, centered: true, mean, variance });
    expect(variance[0]).toBe(0);
    expect(mean[0]).toBeCloseTo(0.1, 16);
    expect(Number.isNaN(mean[1])).toBe(true);
    expect(Number.isNaN(variance[1])).toBe(true);
  });
});

describe('moments kernel: the ill-conditioned fallback', () => {
  // One group starts far from its mean: first value 1e6, then m − 1 values N(0, 1e-3²). Its
  // shift (the first value) sits (m − 1)/√(m − 1) ≈ √m standard deviations from the mean, so
  // (S/m)² ≈ (m − 1)·σ² > CONDITION_LIMIT·σ² for m > 65: the shifted one-pass formula, which
  // loses a factor ≈ m of relative precision, must hand over to the exact two-pass algorithm.
  // The other groups are well conditioned. Expected: the two-pass reference to 1e-12 relative.
  const layouts: [string, number[], number[], (index: readonly number[]) => boolean][] = [
    ['planes (C = 3 groups of 2·65536 values, D = 65536)', [2, 3, 65536], [1], (i) => i[1] === 1],
    ['columns (C = 3 groups of 65536 rows)', [65536, 3], [1], (i) => i[1] === 2],
    ['A > 1 (groups (a, c) of (2, 32768, 2))', [2, 32768, 2], [0, 2], (i) => i[0] === 1 && i[2] === 0],
  ];
  for (const [name, shape, groupAxes, inBadGroup] of layouts) {
    it(name, () => {
      const size = sizeOfShape(shape);
      const noise = normalValues(size, 5, 0, 1e-3);
      const values = new Float64Array(size);
      let first = true;
      forEachIndex(shape, (index, flat) => {
        if (inBadGroup(index)) {
          values[flat] = first ? 1e6 : noise[flat];
          first = false;
        } else values[flat] = 3 + noise[flat] * 1000;
      });
      const plan = planNormalization(shape, groupAxes, null);
      const ref = referenceMoments(values, shape, groupAxes, true);
      const g = (() => {
        let bad = -1;
        forEachIndex(shape, (index) => {
          if (bad < 0 && inBadGroup(index)) bad = jointIndex(index, shape, groupAxes);
        });
        return bad;
      })();
      // the group is as ill-conditioned as meant: its first value is beyond the limit
      const shiftFromMean = 1e6 - ref.mean[g];
      expect(shiftFromMean * shiftFromMean).toBeGreaterThan(CONDITION_LIMIT * ref.variance[g]);
      for (const kind of ['contiguous', 'offset', 'negative'] as const) {
        for (const dtype of ['float64', 'float32'] as const) {
          const x = layView(values, shape, kind, dtype);
          const mean = new Float64Array(plan.groups);
          const variance = new Float64Array(plan.groups);
          momentsKernel({ x, plan, centered: true, mean, variance });
          // float32 rounds the noise values; compare with the reference of what was stored
          const stored = dtype === 'float64' ? ref : referenceMoments(readView(x), shape, groupAxes, true);
          expect(worstRelativeError(mean, stored.mean)).toBeLessThan(1e-12);
          expect(worstRelativeError(variance, stored.variance)).toBeLessThan(1e-12);
        }
      }
    });
  }
});

describe('normalizeCells, gradientSums and inputGradient vs plain loops', () => {
  for (const c of CASES.filter((c) => c.affine !== 'rows')) {
    const cellAxes = cellAxesOf(c);
    for (const kind of VIEW_KINDS) {
      for (const dtype of ['float64', 'float32'] as const) {
        it(`${c.name}, ${kind} views, ${dtype}`, () => {
          const size = sizeOfShape(c.shape);
          const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
          const cells = cellsOf(plan);
          expect(cells.cells).toBe(countOf(c.shape, cellAxes));
          const xValues = normalValues(size, 21, 0.5, 2);
          const dyValues = normalValues(size, 22);
          const center = normalValues(cells.cells, 23, 0.5, 0.2);
          const scale = normalValues(cells.cells, 24, 1, 0.3);
          const shift = normalValues(cells.cells, 25);
          const a = normalValues(cells.cells, 26, 1, 0.3);
          const b = normalValues(cells.cells, 27, 0, 0.1);
          const k = normalValues(cells.cells, 28, 0, 0.1);
          const x = layView(xValues, c.shape, kind, dtype);
          const otherKind = partnerOf(kind);
          const dy = layView(dyValues, c.shape, otherKind, dtype);
          const y = emptyView(c.shape, otherKind, dtype);
          const dx = emptyView(c.shape, kind, dtype);

          normalizeCellsKernel({ x, y, plan, cells, center, scale, shift });
          const sumDy = new Float64Array(cells.cells).fill(Number.NaN);
          const sumDyCentered = new Float64Array(cells.cells).fill(Number.NaN);
          gradientSumsKernel({ x, dy, plan, cells, center, sumDy, sumDyCentered });
          inputGradientKernel({ x, dy, dx, plan, cells, center, a, b, k });

          const yRef = new Float64Array(size);
          const dxRef = new Float64Array(size);
          const sumDyRef = new Float64Array(cells.cells);
          const sumDyCenteredRef = new Float64Array(cells.cells);
          forEachIndex(c.shape, (index, flat) => {
            const j = jointIndex(index, c.shape, cellAxes);
            const centered = xValues[flat] - center[j];
            yRef[flat] = centered * scale[j] + shift[j];
            dxRef[flat] = a[j] * dyValues[flat] + b[j] * centered + k[j];
            sumDyRef[j] += dyValues[flat];
            sumDyCenteredRef[j] += dyValues[flat] * centered;
          });
          expect(worstError(readView(y), yRef)).toBeLessThan(worstFor(dtype));
          expect(worstError(readView(dx), dxRef)).toBeLessThan(worstFor(dtype));
          expect(worstError(sumDy, sumDyRef)).toBeLessThan(TOL64);
          expect(worstError(sumDyCentered, sumDyCenteredRef)).toBeLessThan(TOL64);
          // nothing is written outside the output views
          expect(outsideUntouched(y)).toBe(true);
          expect(outsideUntouched(dx)).toBe(true);
        });
      }
    }
  }
});

describe('normalizeRows and backwardRows vs plain loops', () => {
  for (const c of CASES.filter((c) => c.affine === 'rows')) {
    const paramAxes = c.paramAxes as readonly number[];
    for (const kind of VIEW_KINDS) {
      for (const dtype of ['float64', 'float32'] as const) {
        it(`${c.name}, ${kind} views, ${dtype}`, () => {
          const size = sizeOfShape(c.shape);
          const plan = planNormalization(c.shape, c.groupAxes, paramAxes);
          const rows = rowsOf(plan);
          const params = countOf(c.shape, paramAxes);
          expect(plan.params).toBe(params);
          const xValues = normalValues(size, 31, 0.5, 2);
          const dyValues = normalValues(size, 32);
          const center = normalValues(plan.groups, 33, 0.5, 0.2);
          const invStd = normalValues(plan.groups, 34, 1, 0.2);
          const gamma = normalValues(params, 35, 1, 0.5);
          const beta = normalValues(params, 36);
          const x = layView(xValues, c.shape, kind, dtype);
          const otherKind = partnerOf(kind);
          const dy = layView(dyValues, c.shape, otherKind, dtype);

          for (const [weight, bias] of [
            [gamma, beta],
            [null, beta],
            [gamma, null],
            [null, null],
          ] as const) {
            const y = emptyView(c.shape, otherKind, dtype);
            normalizeRowsKernel({ x, y, plan, rows, center, invStd, weight, bias });
            const yRef = new Float64Array(size);
            forEachIndex(c.shape, (index, flat) => {
              const r = jointIndex(index, c.shape, c.groupAxes);
              const p = jointIndex(index, c.shape, paramAxes);
              yRef[flat] = (xValues[flat] - center[r]) * invStd[r] * (weight === null ? 1 : weight[p]) + (bias === null ? 0 : bias[p]);
            });
            expect(worstError(readView(y), yRef)).toBeLessThan(worstFor(dtype));
            expect(outsideUntouched(y)).toBe(true);
          }

          for (const weight of [gamma, null]) {
            for (const [centered, batchStats, count] of [
              [true, true, rows.features],
              [false, true, rows.features],
              [true, false, rows.features],
              [true, true, 1],
            ] as const) {
              const dx = emptyView(c.shape, kind, dtype);
              const sumDy = new Float64Array(params);
              const sumDyXhat = new Float64Array(params);
              backwardRowsKernel({ x, dy, dx, plan, rows, center, invStd, weight, centered, batchStats, count, sumDy, sumDyXhat });
              // reference: per row Σg and Σg·x̂, then dx = s·(g − κ/m·Σg − x̂/m·Σg·x̂)
              const rowSumG = new Float64Array(plan.groups);
              const rowSumGX = new Float64Array(plan.groups);
              const sumDyRef = new Float64Array(params);
              const sumDyXhatRef = new Float64Array(params);
              const xhatOf = (flat: number, r: number) => (xValues[flat] - center[r]) * invStd[r];
              forEachIndex(c.shape, (index, flat) => {
                const r = jointIndex(index, c.shape, c.groupAxes);
                const p = jointIndex(index, c.shape, paramAxes);
                const g = dyValues[flat] * (weight === null ? 1 : weight[p]);
                rowSumG[r] += g;
                rowSumGX[r] += g * xhatOf(flat, r);
                sumDyRef[p] += dyValues[flat];
                sumDyXhatRef[p] += dyValues[flat] * xhatOf(flat, r);
              });
              const dxRef = new Float64Array(size);
              forEachIndex(c.shape, (index, flat) => {
                const r = jointIndex(index, c.shape, c.groupAxes);
                const p = jointIndex(index, c.shape, paramAxes);
                const g = dyValues[flat] * (weight === null ? 1 : weight[p]);
                const kappa = batchStats && centered ? 1 : 0;
                const lambda = batchStats ? 1 : 0;
                dxRef[flat] = invStd[r] * (g - (kappa * rowSumG[r]) / count - (lambda * xhatOf(flat, r) * rowSumGX[r]) / count);
              });
              expect(worstError(readView(dx), dxRef)).toBeLessThan(worstFor(dtype));
              expect(outsideUntouched(dx)).toBe(true);
              expect(worstError(sumDy, sumDyRef)).toBeLessThan(TOL64);
              expect(worstError(sumDyXhat, sumDyXhatRef)).toBeLessThan(TOL64);
            }
          }
        });
      }
    }
  }

  it('backwardRows adds into its accumulators instead of overwriting them', () => {
    const shape = [5, 4];
    const plan = planNormalization(shape, [0], [1]);
    const rows = rowsOf(plan);
    const x = layView(normalValues(20, 41), shape, 'contiguous');
    const dy = layView(normalValues(20, 42), shape, 'contiguous');
    const center = new Float64Array(5);
    const invStd = new Float64Array(5).fill(1);
    const call = (sumDy: Float64Array, sumDyXhat: Float64Array) =>
      backwardRowsKernel({ x, dy, dx: emptyView(shape, 'contiguous', 'float64'), plan, rows, center, invStd, weight: null, centered: true, batchStats: true, count: 4, sumDy, sumDyXhat });
    const once = [new Float64Array(4), new Float64Array(4)] as const;
    call(...once);
    const twice = [new Float64Array(4).fill(1), new Float64Array(4).fill(-1)] as const;
    call(...twice);
    expect(worstError(twice[0], once[0].map((v) => v + 1))).toBeLessThan(TOL64);
    expect(worstError(twice[1], once[1].map((v) => v - 1))).toBeLessThan(TOL64);
  });
});
