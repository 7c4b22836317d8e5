import { describe, expect, it } from 'vitest';
import { VIEW_KINDS, countOf, forEachIndex, jointIndex, layView, normalValues, outsideUntouched, readView, sizeOfShape } from '../../test/views.js';
import type { ViewKind } from '../../test/views.js';
import { normalizeDoubleBackward } from './double-backward.js';
import { doubleBackwardReference } from './double-backward-reference.js';
import { doubleBackwardInputKernel, doubleBackwardSumsKernel } from './kernels/double-backward.js';
import type { BackwardMode, NormStatistics } from './ops.js';
import { batchStatistics, normalizeBackward } from './ops.js';
import type { CellsLayout, NormPlan } from './plan.js';
import { planNormalization } from './plan.js';
import type { StridedView } from './view.js';

// The second-order pass (the VJP of the backward pass) three ways:
// 1. each cells kernel against plain loops over multi-indices, with arbitrary coefficients;
// 2. the engine op (fast kernels, collapsed formulas) against the staged reference (the
//    backward graph differentiated node by node in reverse mode), on every layout the engine
//    blocks differently and every way a view sits in memory;
// 3. the staged reference against central differences of the first-order op itself.
// Inputs are O(1), so float64 results carry a few ulps: 1e-12 of the array's scale,
// max(1, max|expected|). Float32 outputs are the float64 result rounded once (2⁻²⁴).
const TOL64 = 1e-12;
const TOL32 = 2 ** -24 + TOL64;

/** max|a − e| / max(1, max|e|): entries that cancel are judged against the array's scale. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / scale;
    if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return worst;
}

interface Layout {
  readonly name: string;
  readonly shape: readonly number[];
  readonly groupAxes: readonly number[];
  readonly paramAxes: readonly number[] | null;
  /** What the plan must find, so the contiguous views really take that path. */
  readonly affine: 'rows' | 'planes' | 'columns';
}

const LAYOUTS: readonly Layout[] = [
  { name: 'planes: batch norm on (N, C, H, W)', shape: [3, 4, 2, 3], groupAxes: [1], paramAxes: [1], affine: 'planes' },
  { name: 'columns: batch norm channels-last (N, L, C)', shape: [5, 3, 4], groupAxes: [2], paramAxes: [2], affine: 'columns' },
  { name: 'A > 1 columns: instance norm on (N, L, C)', shape: [2, 5, 3], groupAxes: [0, 2], paramAxes: [2], affine: 'columns' },
  { name: 'group norm: (N, G, C/G, L), γ varying inside a group', shape: [2, 3, 2, 4], groupAxes: [0, 1], paramAxes: [1, 2], affine: 'planes' },
  { name: 'no parameters: cells are the groups', shape: [4, 3, 5], groupAxes: [1], paramAxes: null, affine: 'planes' },
  { name: 'weight norm dim null: one group, one parameter', shape: [3, 4], groupAxes: [], paramAxes: [], affine: 'planes' },
  { name: 'rows: layer norm on (5, 2, 3) over the trailing (2, 3)', shape: [5, 2, 3], groupAxes: [0], paramAxes: [1, 2], affine: 'rows' },
  { name: 'rows with the groups inside: statistics per axis 1, parameters over axes 0 and 2', shape: [3, 4, 5], groupAxes: [1], paramAxes: [0, 2], affine: 'rows' },
];

function partnerOf(kind: ViewKind): ViewKind {
  const partners: Record<ViewKind, ViewKind> = { contiguous: 'contiguous', offset: 'offset', permuted: 'negative', negative: 'permuted', gapped: 'contiguous' };
  return partners[kind];
}

function emptyView(shape: readonly number[], kind: ViewKind, dtype: 'float32' | 'float64'): StridedView {
  return layView(new Float64Array(sizeOfShape(shape)).fill(Number.NaN), shape, kind, dtype);
}

function cellsOf(plan: NormPlan): CellsLayout {
  if (plan.affine.kind !== 'cells') throw new Error('expected a cells layout');
  return plan.affine;
}

describe('doubleBackwardSums and doubleBackwardInput vs plain loops', () => {
  for (const c of LAYOUTS.filter((l) => l.affine !== 'rows')) {
    const cellAxes = [...new Set([...c.groupAxes, ...(c.paramAxes ?? [])])].sort((a, b) => a - b);
    for (const kind of VIEW_KINDS) {
      for (const dtype of ['float64', 'float32'] as const) {
        it(`${c.name}, ${kind} views, ${dtype}`, () => {
          const size = sizeOfShape(c.shape);
          const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
          const cells = cellsOf(plan);
          expect(cells.blocks === null ? 'none' : cells.blocks.D > 1 || cells.cells === 1 ? 'planes' : 'columns').toBe(c.affine);
          const n = cells.cells;
          const xv = normalValues(size, 41, 0.5, 2);
          const dyv = normalValues(size, 42);
          const av = normalValues(size, 43);
          const center = normalValues(n, 44, 0.5, 0.2);
          const coefficients = Array.from({ length: 7 }, (_, k) => normalValues(n, 50 + k));
          const [dxDy, dxDdx, dxCentered, dxConstant, ddyDdx, ddyCentered, ddyConstant] = coefficients;
          const x = layView(xv, c.shape, kind, dtype);
          const other = partnerOf(kind);
          const dy = layView(dyv, c.shape, other, dtype);
          const ddx = layView(av, c.shape, kind, dtype);
          const dx = emptyView(c.shape, other, dtype);
          const ddy = emptyView(c.shape, kind, dtype);
          const sums = Array.from({ length: 5 }, () => new Float64Array(n).fill(Number.NaN));
          const [sumDdx, sumDdxCentered, sumDy, sumDyCentered, sumDyDdx] = sums;
          doubleBackwardSumsKernel({ x, dy, ddx, plan, cells, center, sumDdx, sumDdxCentered, sumDy, sumDyCentered, sumDyDdx });
          doubleBackwardInputKernel({ x, dy, ddx, dx, ddy, plan, cells, center, dxDy, dxDdx, dxCentered, dxConstant, ddyDdx, ddyCentered, ddyConstant });
          const refSums = Array.from({ length: 5 }, () => new Float64Array(n));
          const dxRef = new Float64Array(size);
          const ddyRef = new Float64Array(size);
          forEachIndex(c.shape, (index, flat) => {
            const j = jointIndex(index, c.shape, cellAxes);
            const d = xv[flat] - center[j];
            refSums[0][j] += av[flat];
            refSums[1][j] += av[flat] * d;
            refSums[2][j] += dyv[flat];
            refSums[3][j] += dyv[flat] * d;
            refSums[4][j] += dyv[flat] * av[flat];
            dxRef[flat] = dxDy[j] * dyv[flat] + dxDdx[j] * av[flat] + dxCentered[j] * d + dxConstant[j];
            ddyRef[flat] = ddyDdx[j] * av[flat] + ddyCentered[j] * d + ddyConstant[j];
          });
          sums.forEach((s, k) => expect(scaledError(s, refSums[k])).toBeLessThan(TOL64));
          const tol = dtype === 'float32' ? TOL32 : TOL64;
          expect(scaledError(readView(dx), dxRef)).toBeLessThan(tol);
          expect(scaledError(readView(ddy), ddyRef)).toBeLessThan(tol);
          expect(outsideUntouched(dx)).toBe(true);
          expect(outsideUntouched(ddy)).toBe(true);
        });
      }
    }
  }
});

interface Modes {
  readonly name: string;
  readonly mode: BackwardMode;
}

const MODES: readonly Modes[] = [
  { name: 'centered, batch statistics', mode: { centered: true, batchStats: true } },
  { name: 'uncentered (RMS), batch statistics', mode: { centered: false, batchStats: true } },
  { name: 'centered, constant statistics', mode: { centered: true, batchStats: false } },
  { name: 'uncentered, divisor 1 (weight norm)', mode: { centered: false, batchStats: true, count: 1 } },
];

/** Statistics consistent with x (batch statistics), or arbitrary constants (running statistics). */
function statisticsFor(x: StridedView, plan: NormPlan, mode: BackwardMode, seed: number): NormStatistics {
  if (!mode.batchStats) return { center: normalValues(plan.groups, seed, 0.3, 0.5), invStd: normalValues(plan.groups, seed + 1, 0.8, 0.1) };
  const stats = batchStatistics(x, plan, mode.centered, 1e-5);
  if (mode.count === undefined) return stats;
  // weight norm: invStd = 1/√(Σx² + eps), the mean square times the count
  return { center: stats.center, invStd: stats.variance.map((v) => 1 / Math.sqrt(v * plan.count + 1e-5)) };
}

describe('normalizeDoubleBackward vs the staged reference', () => {
  for (const c of LAYOUTS) {
    for (const { name, mode } of MODES) {
      for (const kind of VIEW_KINDS) {
        it(`${c.name}, ${name}, ${kind} views`, () => {
          const size = sizeOfShape(c.shape);
          const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
          expect(plan.affine.kind === 'rows').toBe(c.affine === 'rows');
          const params = c.paramAxes === null ? 0 : countOf(c.shape, c.paramAxes);
          const x = layView(normalValues(size, 61, 0.5, 2), c.shape, kind);
          const other = partnerOf(kind);
          const dy = layView(normalValues(size, 62), c.shape, other);
          const ddx = layView(normalValues(size, 63), c.shape, kind);
          const stats = statisticsFor(x, plan, mode, 64);
          const gamma = params === 0 ? null : normalValues(params, 65, 1, 0.5);
          const bigGamma = params === 0 ? null : normalValues(params, 66);
          const bigB = params === 0 ? null : normalValues(params, 67);
          const combos: [Float64Array | null, Float64Array | null, Float64Array | null][] =
            params === 0 ? [[null, null, null]] : [[gamma, bigGamma, bigB], [null, bigGamma, null], [gamma, null, bigB], [gamma, null, null]];
          for (const [weight, dgradWeight, dgradBias] of combos) {
            const cotangents = { ddx, dgradWeight, dgradBias };
            const dx = emptyView(c.shape, other, 'float64');
            const ddy = emptyView(c.shape, kind, 'float64');
            const weightGrad = normalizeDoubleBackward(x, dy, plan, stats, weight, cotangents, mode, dx, ddy);
            const ref = doubleBackwardReference(x, dy, plan, stats, weight, cotangents, mode);
            expect(scaledError(readView(dx), ref.dx)).toBeLessThan(TOL64);
            expect(scaledError(readView(ddy), ref.ddy)).toBeLessThan(TOL64);
            if (ref.weightGrad === null) expect(weightGrad).toBeNull();
            else expect(scaledError(weightGrad as Float64Array, ref.weightGrad)).toBeLessThan(TOL64);
            expect(outsideUntouched(dx)).toBe(true);
            expect(outsideUntouched(ddy)).toBe(true);
          }
        });
      }
    }
  }

  it('refuses the all-reduce hook of SyncBatchNorm (a programming error)', () => {
    const plan = planNormalization([4, 3], [1], [1]);
    const v = layView(normalValues(12, 1), [4, 3], 'contiguous');
    const stats = batchStatistics(v, plan, true, 1e-5);
    const mode: BackwardMode = { centered: true, batchStats: true, reduceGroupSums: () => undefined };
    expect(() => normalizeDoubleBackward(v, v, plan, stats, null, { ddx: v, dgradWeight: null, dgradBias: null }, mode, v, v)).toThrow(/reduceGroupSums/);
  });
});

/**
 * S(x, γ, dy) = Σ a·dx + Σ Γ·dγ + Σ B·dβ through the first-order op, with the statistics
 * recomputed from x (batch statistics) or held (constants).
 */
function objective(
  values: Float64Array,
  dyValues: Float64Array,
  gamma: Float64Array,
  plan: NormPlan,
  mode: BackwardMode,
  held: NormStatistics,
  a: Float64Array,
  bigGamma: Float64Array,
  bigB: Float64Array,
): number {
  const shape = plan.shape;
  const x = layView(values, shape, 'contiguous');
  const dy = layView(dyValues, shape, 'contiguous');
  const stats = mode.batchStats ? statisticsFor(x, plan, mode, 0) : held;
  const dx = emptyView(shape, 'contiguous', 'float64');
  const sums = normalizeBackward(x, dy, plan, stats, gamma, mode, dx);
  const dxValues = readView(dx);
  let s = 0;
  for (let i = 0; i < dxValues.length; i++) s += a[i] * dxValues[i];
  if (sums !== null) for (let p = 0; p < gamma.length; p++) s += bigGamma[p] * sums.sumDyXhat[p] + bigB[p] * sums.sumDy[p];
  return s;
}

describe('the staged reference vs central differences of the first-order op', () => {
  // Central differences at h = 1e-5 of an O(1) smooth function: truncation ~h²·f‴ ≈ 1e-10 and
  // rounding ~ε·|S|/h ≈ 1e-10, so the reference must agree to 1e-7 of the scale; a wrong term
  // is off by O(1).
  const cases = LAYOUTS.filter((l) => l.paramAxes !== null);
  for (const c of cases) {
    for (const { name, mode } of MODES) {
      it(`${c.name}, ${name}`, () => {
        const size = sizeOfShape(c.shape);
        const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
        const params = countOf(c.shape, c.paramAxes as readonly number[]);
        const xv = normalValues(size, 71, 0.5, 2);
        const dyv = normalValues(size, 72);
        const a = normalValues(size, 73);
        const gamma = normalValues(params, 74, 1, 0.5);
        const bigGamma = normalValues(params, 75);
        const bigB = normalValues(params, 76);
        const held = statisticsFor(layView(xv, c.shape, 'contiguous'), plan, { ...mode, batchStats: false }, 77);
        const x = layView(xv, c.shape, 'contiguous');
        const stats = mode.batchStats ? statisticsFor(x, plan, mode, 0) : held;
        const ref = doubleBackwardReference(x, layView(dyv, c.shape, 'contiguous'), plan, stats, gamma, { ddx: layView(a, c.shape, 'contiguous'), dgradWeight: bigGamma, dgradBias: bigB }, mode);
        const h = 1e-5;
        const S = (xs: Float64Array, dys: Float64Array, gs: Float64Array) => objective(xs, dys, gs, plan, mode, held, a, bigGamma, bigB);
        const diff = (values: Float64Array, i: number, evaluate: (v: Float64Array) => number): number => {
          const v = values.slice();
          v[i] = values[i] + h;
          const plus = evaluate(v);
          v[i] = values[i] - h;
          return (plus - evaluate(v)) / (2 * h);
        };
        const numDx = Float64Array.from({ length: size }, (_, i) => diff(xv, i, (v) => S(v, dyv, gamma)));
        const numDdy = Float64Array.from({ length: size }, (_, i) => diff(dyv, i, (v) => S(xv, v, gamma)));
        const numDweight = Float64Array.from({ length: params }, (_, i) => diff(gamma, i, (v) => S(xv, dyv, v)));
        expect(scaledError(ref.dx, numDx)).toBeLessThan(1e-7);
        expect(scaledError(ref.ddy, numDdy)).toBeLessThan(1e-7);
        expect(scaledError(ref.weightGrad as Float64Array, numDweight)).toBeLessThan(1e-7);
        // and the outputs are not trivially zero
        expect(Math.max(...Array.from(ref.dx, Math.abs))).toBeGreaterThan(1e-3);
      });
    }
  }
});
