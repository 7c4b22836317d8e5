import type { DoubleBackwardCotangents } from './double-backward.js';
import type { BackwardMode, NormStatistics } from './ops.js';
import type { NormPlan } from './plan.js';
import type { StridedView } from './view.js';

/** What {@link doubleBackwardReference} returns, row-major over the plan's shape. */
export interface DoubleBackwardReference {
  /** $`\partial S/\partial x`$. */
  readonly dx: Float64Array;
  /** $`\partial S/\partial dy`$. */
  readonly ddy: Float64Array;
  /** $`\partial S/\partial\gamma`$ per parameter entry, or `null` without parameters. */
  readonly weightGrad: Float64Array | null;
}

function valueAt(view: StridedView, index: readonly number[]): number {
  let p = view.offset;
  for (let k = 0; k < index.length; k++) p += index[k] * view.strides[k];
  return view.data[p];
}

function flatIndex(index: readonly number[], strides: readonly number[]): number {
  let f = 0;
  for (let k = 0; k < index.length; k++) f += index[k] * strides[k];
  return f;
}

/**
 * The plainly written reference of {@link normalizeDoubleBackward}: slow and obvious, for
 * tests of the kernels (and of any backend). It does not use the collapsed formulas of the
 * fast path. It writes the backward pass of one group as the graph the first-order
 * derivation walks, node by node,
 *
 * ```
 * 1  μ = κ·Σx/n            5  x̂ᵢ = dᵢ·s               9  Q = Σ gᵢ,  R = Σ dᵢ
 * 2  dᵢ = xᵢ − μ           6  gᵢ = γᵢ·δᵢ              10 μ̄ = −s·Q + σ̄²·(−2/m)·R
 * 3  σ² = Σ dᵢ²/m          7  P = Σ gᵢ·dᵢ             11 dxᵢ = gᵢ·s + σ̄²·2dᵢ/m + κ·μ̄/n
 * 4  s = (σ² + ε)^(−1/2)   8  σ̄² = −½·s³·P            12 dγ = Σ δᵢ·x̂ᵢ,  dβ = Σ δᵢ
 * ```
 *
 * (δ = dy; σ̄² and μ̄ are ∂L/∂σ² and ∂L/∂μ; n is the group size, m the statistics' divisor),
 * and differentiates $`S = \sum a\,dx + \sum \Gamma\,\delta\,\hat x + \sum B\,\delta`$ by
 * reverse mode through those twelve nodes, last to first, one adjoint at a time. With
 * constant statistics only nodes 5, 6, 11 (`dx = g·s`) and 12 remain. Every sum runs in
 * float64 over the elements of one group in row-major order.
 *
 * @param x - the forward input
 * @param dy - the upstream gradient of the backward call
 * @param plan - the plan
 * @param stats - the statistics of the forward call (μ and s are taken from here)
 * @param weight - γ per parameter entry, or `null` for ones
 * @param cotangents - $`a`$, $`\Gamma`$, $`B`$
 * @param mode - centered or not; batch statistics or constants; the divisor
 * @returns $`\partial S/\partial x`$, $`\partial S/\partial dy`$ and $`\partial S/\partial\gamma`$
 */
export function doubleBackwardReference(
  x: StridedView,
  dy: StridedView,
  plan: NormPlan,
  stats: NormStatistics,
  weight: Float64Array | null,
  cotangents: DoubleBackwardCotangents,
  mode: Pick<BackwardMode, 'centered' | 'batchStats' | 'count'>,
): DoubleBackwardReference {
  const shape = plan.shape;
  const size = shape.reduce((a, b) => a * b, 1);
  const kappa = mode.centered ? 1 : 0;
  const m = mode.count ?? plan.count;
  // Gather every position: its row-major flat index, group, parameter entry and values.
  const members: number[][] = Array.from({ length: plan.groups }, () => []);
  const paramOf = new Int32Array(size);
  const xs = new Float64Array(size);
  const deltas = new Float64Array(size);
  const as = new Float64Array(size);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    members[flatIndex(index, plan.groupIndex.strides)].push(flat);
    paramOf[flat] = plan.paramIndex === null ? -1 : flatIndex(index, plan.paramIndex.strides);
    xs[flat] = valueAt(x, index);
    deltas[flat] = valueAt(dy, index);
    as[flat] = valueAt(cotangents.ddx, index);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  const gammaAt = (flat: number) => (weight === null || paramOf[flat] < 0 ? 1 : weight[paramOf[flat]]);
  const bigGammaAt = (flat: number) => (cotangents.dgradWeight === null || paramOf[flat] < 0 ? 0 : cotangents.dgradWeight[paramOf[flat]]);
  const bigBAt = (flat: number) => (cotangents.dgradBias === null || paramOf[flat] < 0 ? 0 : cotangents.dgradBias[paramOf[flat]]);

  const outDx = new Float64Array(size);
  const outDdy = new Float64Array(size);
  const weightGrad = plan.paramIndex === null ? null : new Float64Array(plan.params);
  members.forEach((group, gi) => {
    const n = group.length;
    const mu = stats.center[gi];
    const s = stats.invStd[gi];
    // Primal nodes (the statistics come from the forward call).
    const d = group.map((f) => xs[f] - mu); // 2
    const xhat = d.map((v) => v * s); // 5
    const g = group.map((f) => gammaAt(f) * deltas[f]); // 6
    const P = g.reduce((acc, v, i) => acc + v * d[i], 0); // 7
    const dSigma2 = -0.5 * s * s * s * P; // 8
    const Q = g.reduce((acc, v) => acc + v, 0); // 9
    const R = d.reduce((acc, v) => acc + v, 0); // 9
    // Adjoints, all zero to start.
    const gBar = new Array<number>(n).fill(0);
    const dBar = new Array<number>(n).fill(0);
    const xhatBar = new Array<number>(n).fill(0);
    const deltaBar = new Array<number>(n).fill(0);
    const gammaBar = new Array<number>(n).fill(0);
    const xBar = new Array<number>(n).fill(0);
    let sBar = 0;
    let dSigma2Bar = 0;
    let dMuBar = 0;
    // S reads dx (weights a), dγ (weights Γ) and dβ (weights B).
    // 12: dγ = Σ δ·x̂, dβ = Σ δ
    for (let i = 0; i < n; i++) {
      const f = group[i];
      deltaBar[i] += bigGammaAt(f) * xhat[i] + bigBAt(f);
      xhatBar[i] += bigGammaAt(f) * deltas[f];
    }
    if (!mode.batchStats) {
      // 11 without statistics: dx = g·s
      for (let i = 0; i < n; i++) gBar[i] += as[group[i]] * s;
    } else {
      // 11: dxᵢ = gᵢ·s + σ̄²·2dᵢ/m + κ·μ̄/n
      for (let i = 0; i < n; i++) {
        const a = as[group[i]];
        gBar[i] += a * s;
        sBar += a * g[i];
        dSigma2Bar += (a * 2 * d[i]) / m;
        dBar[i] += (a * dSigma2 * 2) / m;
        dMuBar += (kappa * a) / n;
      }
      // 10: μ̄ = −s·Q + σ̄²·(−2/m)·R
      sBar += -Q * dMuBar;
      const QBar = -s * dMuBar;
      dSigma2Bar += dMuBar * (-2 / m) * R;
      const RBar = dMuBar * dSigma2 * (-2 / m);
      // 9
      for (let i = 0; i < n; i++) {
        gBar[i] += QBar;
        dBar[i] += RBar;
      }
      // 8: σ̄² = −½·s³·P
      sBar += dSigma2Bar * -1.5 * s * s * P;
      const PBar = dSigma2Bar * -0.5 * s * s * s;
      // 7: P = Σ g·d
      for (let i = 0; i < n; i++) {
        gBar[i] += PBar * d[i];
        dBar[i] += PBar * g[i];
      }
    }
    // 6: g = γ·δ
    for (let i = 0; i < n; i++) {
      gammaBar[i] += gBar[i] * deltas[group[i]];
      deltaBar[i] += gBar[i] * gammaAt(group[i]);
    }
    // 5: x̂ = d·s
    for (let i = 0; i < n; i++) {
      dBar[i] += xhatBar[i] * s;
      sBar += xhatBar[i] * d[i];
    }
    if (mode.batchStats) {
      // 4: s = (σ² + ε)^(−1/2), ds/dσ² = −½·s³
      const sigma2Bar = sBar * -0.5 * s * s * s;
      // 3: σ² = Σ d²/m
      for (let i = 0; i < n; i++) dBar[i] += (sigma2Bar * 2 * d[i]) / m;
    }
    // 2: d = x − μ
    let muBar = 0;
    for (let i = 0; i < n; i++) {
      xBar[i] += dBar[i];
      muBar -= dBar[i];
    }
    // 1: μ = κ·Σx/n (a constant with running statistics)
    if (mode.batchStats) for (let i = 0; i < n; i++) xBar[i] += (kappa * muBar) / n;
    for (let i = 0; i < n; i++) {
      const f = group[i];
      outDx[f] = xBar[i];
      outDdy[f] = deltaBar[i];
      if (weightGrad !== null && paramOf[f] >= 0) weightGrad[paramOf[f]] += gammaBar[i];
    }
  });
  return { dx: outDx, ddy: outDdy, weightGrad };
}
