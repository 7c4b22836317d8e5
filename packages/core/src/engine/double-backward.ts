import type { BackwardMode, NormStatistics } from './ops.js';
import { runKernel } from './ops.js';
import type { NormPlan } from './plan.js';
import type { StridedView } from './view.js';

/**
 * The cotangents of the backward pass's outputs that a second-order pass receives: with
 * $`S = \langle a, dx\rangle + \langle \Gamma, \partial L/\partial\gamma\rangle + \langle B, \partial L/\partial\beta\rangle`$,
 * `ddx` is $`a`$, `dgradWeight` is $`\Gamma`$ and `dgradBias` is $`B`$.
 */
export interface DoubleBackwardCotangents {
  /** $`a`$: the cotangent of backward's `dx`, of the plan's shape. */
  readonly ddx: StridedView;
  /** $`\Gamma`$ per parameter entry: the cotangent of backward's ∂L/∂γ, or `null` for zeros. */
  readonly dgradWeight: Float64Array | null;
  /** $`B`$ per parameter entry: the cotangent of backward's ∂L/∂β, or `null` for zeros. */
  readonly dgradBias: Float64Array | null;
}

/**
 * The second-order pass of every normalizer on the engine: the vector–Jacobian product of
 * {@link normalizeBackward} itself. The backward pass maps $`(x, \gamma, dy)`$ to
 * $`(dx, \partial L/\partial\gamma, \partial L/\partial\beta)`$; given cotangents $`a`$, $`\Gamma`$,
 * $`B`$ for those outputs (see {@link DoubleBackwardCotangents}), this writes
 * $`\partial S/\partial x`$ into `dx`, $`\partial S/\partial dy`$ into `ddy`, and returns
 * $`\partial S/\partial\gamma`$ per parameter entry ($`\partial S/\partial\beta = 0`$: the
 * backward pass does not depend on β).
 *
 * Per group, with $`s`$ = invStd, $`\hat x = (x - c)s`$, $`g = dy\,\gamma`$,
 * $`\langle\cdot\rangle = \tfrac1m\sum_{\text{group}}`$, κ = 1 centered / 0 not:
 *
 * $$t = s(a - \kappa\langle a\rangle - \hat x A),\quad A = \langle a\hat x\rangle,\quad H = \langle g\hat x\rangle,\quad
 *   K = s(\langle g a\rangle - \kappa\langle a\rangle\langle g\rangle - AH),\quad w = \Gamma\,dy - s(Ha + Ag)$$
 *
 * $$\frac{\partial S}{\partial dy} = \gamma t + \Gamma\hat x + B,\qquad
 *   \frac{\partial S}{\partial \gamma} = \textstyle\sum dy\,t,\qquad
 *   \frac{\partial S}{\partial x} = -sK\hat x + s\big(w - \kappa\langle w\rangle - \hat x\langle\hat x w\rangle\big).$$
 *
 * $`\partial S/\partial dy`$ is the forward-mode JVP of $`y`$ along $`(a, \Gamma, B)`$. With
 * constant statistics (`batchStats: false`): $`\partial S/\partial dy = s\gamma a + \Gamma\hat x + B`$,
 * $`\partial S/\partial\gamma = \sum s\,a\,dy`$, $`\partial S/\partial x = s\Gamma\,dy`$.
 *
 * In the cells layout the five reductions run per cell (`doubleBackwardSums`), fold into
 * per-group means here, and give per-cell coefficients of one elementwise pass writing both
 * outputs (`doubleBackwardInput`). In the rows layout one fused kernel does both
 * (`doubleBackwardRows`). `mode.reduceGroupSums` (SyncBatchNorm) is not supported.
 *
 * @param x - the forward input
 * @param dy - the upstream gradient of the backward call, of the plan's shape
 * @param plan - the plan
 * @param stats - the statistics of the forward call
 * @param weight - γ per parameter entry, or `null` for ones
 * @param cotangents - $`a`$, $`\Gamma`$, $`B`$
 * @param mode - centered or not; batch statistics or constants; the divisor
 * @param dx - output: $`\partial S/\partial x`$, of the plan's shape (every element is written)
 * @param ddy - output: $`\partial S/\partial dy`$, of the plan's shape (every element is written)
 * @returns $`\partial S/\partial\gamma`$ per parameter entry, or `null` when the plan has no parameters
 * @throws Error when `mode.reduceGroupSums` is given (a programming error)
 */
export function normalizeDoubleBackward(
  x: StridedView,
  dy: StridedView,
  plan: NormPlan,
  stats: NormStatistics,
  weight: Float64Array | null,
  cotangents: DoubleBackwardCotangents,
  mode: BackwardMode,
  dx: StridedView,
  ddy: StridedView,
): Float64Array | null {
  if (mode.reduceGroupSums !== undefined) throw new Error('normalizeDoubleBackward: reduceGroupSums is not supported');
  const { ddx, dgradWeight, dgradBias } = cotangents;
  const count = mode.count ?? plan.count;
  const affine = plan.affine;
  if (affine.kind === 'rows') {
    const weightGrad = new Float64Array(plan.params);
    runKernel('doubleBackwardRows', {
      x,
      dy,
      ddx,
      dx,
      ddy,
      plan,
      rows: affine,
      center: stats.center,
      invStd: stats.invStd,
      weight,
      dgradWeight,
      dgradBias,
      centered: mode.centered,
      batchStats: mode.batchStats,
      count,
      weightGrad,
    });
    return weightGrad;
  }
  const { cells, cellGroup, cellParam } = affine;
  const groups = plan.groups;
  const kappa = mode.centered ? 1 : 0;
  const center = new Float64Array(cells);
  for (let j = 0; j < cells; j++) center[j] = stats.center[cellGroup[j]];
  const sumDdx = new Float64Array(cells);
  const sumDdxCentered = new Float64Array(cells);
  const sumDy = new Float64Array(cells);
  const sumDyCentered = new Float64Array(cells);
  const sumDyDdx = new Float64Array(cells);
  if (mode.batchStats || cellParam !== null) {
    runKernel('doubleBackwardSums', { x, dy, ddx, plan, cells: affine, center, sumDdx, sumDdxCentered, sumDy, sumDyCentered, sumDyDdx });
  }
  const paramOf = (j: number): number => (cellParam === null ? -1 : cellParam[j]);
  const gammaOf = (p: number): number => (weight === null || p < 0 ? 1 : weight[p]);
  const dgradWeightOf = (p: number): number => (dgradWeight === null || p < 0 ? 0 : dgradWeight[p]);
  const dgradBiasOf = (p: number): number => (dgradBias === null || p < 0 ? 0 : dgradBias[p]);
  // Per group: the means ⟨a⟩, A = ⟨a x̂⟩, ⟨g⟩, H = ⟨g x̂⟩, ⟨g a⟩, ⟨h⟩, ⟨h x̂⟩ with h = Γ·dy.
  const sa = new Float64Array(groups);
  const sad = new Float64Array(groups);
  const sg = new Float64Array(groups);
  const sgd = new Float64Array(groups);
  const sga = new Float64Array(groups);
  const sh = new Float64Array(groups);
  const shd = new Float64Array(groups);
  for (let j = 0; j < cells; j++) {
    const g = cellGroup[j];
    const p = paramOf(j);
    const gamma = gammaOf(p);
    const big = dgradWeightOf(p);
    sa[g] += sumDdx[j];
    sad[g] += sumDdxCentered[j];
    sg[g] += gamma * sumDy[j];
    sgd[g] += gamma * sumDyCentered[j];
    sga[g] += gamma * sumDyDdx[j];
    sh[g] += big * sumDy[j];
    shd[g] += big * sumDyCentered[j];
  }
  // Per group: s·A, κ⟨a⟩, and the coefficients of a, d and 1 in ∂S/∂x (zero with constant statistics).
  const sA = new Float64Array(groups);
  const kA = new Float64Array(groups);
  const xA = new Float64Array(groups);
  const xD = new Float64Array(groups);
  const xK = new Float64Array(groups);
  if (mode.batchStats) {
    for (let g = 0; g < groups; g++) {
      const s = stats.invStd[g];
      const meanA = sa[g] / count;
      const A = (s * sad[g]) / count;
      const meanG = sg[g] / count;
      const H = (s * sgd[g]) / count;
      const meanGA = sga[g] / count;
      const meanH = sh[g] / count;
      const meanHX = (s * shd[g]) / count;
      const K = s * (meanGA - kappa * meanA * meanG - A * H);
      const meanW = meanH - s * (H * meanA + A * meanG);
      const meanXW = meanHX - 2 * s * A * H;
      sA[g] = s * A;
      kA[g] = kappa * meanA;
      xA[g] = -s * s * H;
      xD[g] = -s * s * (K + meanXW);
      xK[g] = -kappa * s * meanW;
    }
  }
  const dxDy = new Float64Array(cells);
  const dxDdx = new Float64Array(cells);
  const dxCentered = new Float64Array(cells);
  const dxConstant = new Float64Array(cells);
  const ddyDdx = new Float64Array(cells);
  const ddyCentered = new Float64Array(cells);
  const ddyConstant = new Float64Array(cells);
  const weightGrad = cellParam === null ? null : new Float64Array(plan.params);
  for (let j = 0; j < cells; j++) {
    const g = cellGroup[j];
    const p = paramOf(j);
    const s = stats.invStd[g];
    const gamma = gammaOf(p);
    const big = dgradWeightOf(p);
    // ∂S/∂x = s(Γ − sAγ)·dy − s²H·a + (x − c)·(−s²(K + ⟨x̂w⟩)) − κs⟨w⟩
    dxDy[j] = s * (big - sA[g] * gamma);
    dxDdx[j] = xA[g];
    dxCentered[j] = xD[g];
    dxConstant[j] = xK[g];
    // ∂S/∂dy = γt + Γx̂ + B with t = s(a − κ⟨a⟩ − (x − c)·sA)
    ddyDdx[j] = gamma * s;
    ddyCentered[j] = s * (big - gamma * sA[g]);
    ddyConstant[j] = dgradBiasOf(p) - gamma * s * kA[g];
    // ∂S/∂γ = Σ dy·t = s(Σdy·a − κ⟨a⟩Σdy − sA·Σdy·(x − c))
    if (weightGrad !== null) weightGrad[p] += s * (sumDyDdx[j] - kA[g] * sumDy[j] - sA[g] * sumDyCentered[j]);
  }
  runKernel('doubleBackwardInput', {
    x,
    dy,
    ddx,
    dx,
    ddy,
    plan,
    cells: affine,
    center,
    dxDy,
    dxDdx,
    dxCentered,
    dxConstant,
    ddyDdx,
    ddyCentered,
    ddyConstant,
  });
  return weightGrad;
}
