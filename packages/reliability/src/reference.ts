/**
 * Slow, obviously correct reference implementations of every built-in plugin: plain
 * multi-index loops over `.get`, float64 throughout, no fast paths, no strides of their
 * own (`.get` handles any view). Outputs are row-major `Float64Array`s.
 *
 * Backward passes follow the staged derivations of the READMEs (through μ, σ², x̂ one node
 * at a time), not the compact forms the kernels use, so the two are independent.
 */
import { sizeOf } from '@normkit/core';
import type { Mode, Shape, Tensor } from '@normkit/core';

/** Calls `visit(index, flat)` for every multi-index of `shape` in row-major order. */
export function forEachIndex(shape: Shape, visit: (index: number[], flat: number) => void): void {
  const rank = shape.length;
  const size = sizeOf(shape);
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < size; flat++) {
    visit(index, flat);
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
}

/** A tensor's values in row-major order, read with `.get`. */
export function valuesOf(t: Tensor): Float64Array {
  const out = new Float64Array(sizeOf(t.shape));
  forEachIndex(t.shape, (index, flat) => (out[flat] = t.get(...index)));
  return out;
}

// ---------------------------------------------------------------------------------------
// Batch norm

/** Resolved batch-norm options, as the reference needs them. */
export interface RefBatchNormOptions {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly channelAxis: number;
}

/** What the batch-norm reference forward computes. */
export interface RefBatchNormForward {
  readonly y: Float64Array;
  /** Per channel: the mean used to normalize (batch or running). */
  readonly mean: Float64Array;
  /** Per channel: the variance used (biased batch variance or running variance). */
  readonly variance: Float64Array;
  readonly usedBatchStats: boolean;
  readonly count: number;
  /** The next running statistics, or null when they do not change. */
  readonly next: { runningMean: Float64Array; runningVar: Float64Array; numBatchesTracked: number } | null;
}

function channelOf(index: readonly number[], channelAxis: number): number {
  return index[channelAxis];
}

/** Batch norm forward, PyTorch semantics (see the batch-norm README). */
export function refBatchNormForward(
  x: Tensor,
  params: { weight?: Tensor; bias?: Tensor },
  state: { runningMean?: Tensor; runningVar?: Tensor; numBatchesTracked?: Tensor },
  mode: Mode,
  o: RefBatchNormOptions,
): RefBatchNormForward {
  const rank = x.shape.length;
  const axis = o.channelAxis < 0 ? o.channelAxis + rank : o.channelAxis;
  const C = o.numFeatures;
  const count = sizeOf(x.shape) / C;
  const usedBatchStats = mode === 'train' || !o.trackRunningStats;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  if (usedBatchStats) {
    forEachIndex(x.shape, (i) => (mean[channelOf(i, axis)] += x.get(...i)));
    for (let c = 0; c < C; c++) mean[c] /= count;
    forEachIndex(x.shape, (i) => {
      const c = channelOf(i, axis);
      const d = x.get(...i) - mean[c];
      variance[c] += d * d;
    });
    for (let c = 0; c < C; c++) variance[c] /= count;
  } else {
    for (let c = 0; c < C; c++) {
      mean[c] = (state.runningMean as Tensor).get(c);
      variance[c] = (state.runningVar as Tensor).get(c);
    }
  }
  const y = new Float64Array(sizeOf(x.shape));
  forEachIndex(x.shape, (i, flat) => {
    const c = channelOf(i, axis);
    const xhat = (x.get(...i) - mean[c]) / Math.sqrt(variance[c] + o.eps);
    const gamma = params.weight === undefined ? 1 : params.weight.get(c);
    const beta = params.bias === undefined ? 0 : params.bias.get(c);
    y[flat] = xhat * gamma + beta;
  });
  let next: RefBatchNormForward['next'] = null;
  if (mode === 'train' && o.trackRunningStats) {
    const steps = (state.numBatchesTracked as Tensor).get() + 1;
    const f = o.momentum === null ? 1 / steps : o.momentum;
    const runningMean = new Float64Array(C);
    const runningVar = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      runningMean[c] = (1 - f) * (state.runningMean as Tensor).get(c) + f * mean[c];
      runningVar[c] = (1 - f) * (state.runningVar as Tensor).get(c) + f * variance[c] * (count / (count - 1));
    }
    next = { runningMean, runningVar, numBatchesTracked: steps };
  }
  return { y, mean, variance, usedBatchStats, count, next };
}

/** Batch norm backward by the staged derivation: x → μ → σ² → x̂ → y. */
export function refBatchNormBackward(
  x: Tensor,
  dy: Tensor,
  params: { weight?: Tensor; bias?: Tensor },
  fwd: RefBatchNormForward,
  o: RefBatchNormOptions,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const rank = x.shape.length;
  const axis = o.channelAxis < 0 ? o.channelAxis + rank : o.channelAxis;
  const C = o.numFeatures;
  const m = fwd.count;
  const { mean, variance } = fwd;
  const gammaOf = (c: number): number => (params.weight === undefined ? 1 : params.weight.get(c));
  const dweight = new Float64Array(C);
  const dbias = new Float64Array(C);
  const dvar = new Float64Array(C);
  const dmean = new Float64Array(C);
  const sumCentered = new Float64Array(C);
  forEachIndex(x.shape, (i) => {
    const c = channelOf(i, axis);
    const centered = x.get(...i) - mean[c];
    const xhat = centered / Math.sqrt(variance[c] + o.eps);
    const g = dy.get(...i);
    dweight[c] += g * xhat;
    dbias[c] += g;
    const dxhat = g * gammaOf(c);
    dvar[c] += dxhat * centered * -0.5 * Math.pow(variance[c] + o.eps, -1.5);
    dmean[c] += dxhat * (-1 / Math.sqrt(variance[c] + o.eps));
    sumCentered[c] += centered;
  });
  for (let c = 0; c < C; c++) dmean[c] += dvar[c] * (-2 / m) * sumCentered[c];
  const dx = new Float64Array(sizeOf(x.shape));
  forEachIndex(x.shape, (i, flat) => {
    const c = channelOf(i, axis);
    const dxhat = dy.get(...i) * gammaOf(c);
    const direct = dxhat / Math.sqrt(variance[c] + o.eps);
    dx[flat] = fwd.usedBatchStats ? direct + (dvar[c] * 2 * (x.get(...i) - mean[c])) / m + dmean[c] / m : direct;
  });
  return { dx, dweight, dbias };
}

// ---------------------------------------------------------------------------------------
// Layer norm

/** Resolved layer-norm options, as the reference needs them. */
export interface RefLayerNormOptions {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
}

/** What the layer-norm reference forward computes (per row: mean and biased variance). */
export interface RefLayerNormForward {
  readonly y: Float64Array;
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly rows: number;
  readonly features: number;
}

/** Row and feature index of a multi-index: leading axes → row, trailing → feature (row-major). */
function rowFeature(index: readonly number[], shape: Shape, leadingRank: number): [number, number] {
  let row = 0;
  let feature = 0;
  for (let k = 0; k < shape.length; k++) {
    if (k < leadingRank) row = row * shape[k] + index[k];
    else feature = feature * shape[k] + index[k];
  }
  return [row, feature];
}

/** Layer norm forward over the trailing `normalizedShape` axes (PyTorch semantics). */
export function refLayerNormForward(x: Tensor, params: { weight?: Tensor; bias?: Tensor }, o: RefLayerNormOptions): RefLayerNormForward {
  const leadingRank = x.shape.length - o.normalizedShape.length;
  const features = sizeOf(o.normalizedShape);
  const rows = sizeOf(x.shape.slice(0, leadingRank));
  const mean = new Float64Array(rows);
  const variance = new Float64Array(rows);
  forEachIndex(x.shape, (i) => (mean[rowFeature(i, x.shape, leadingRank)[0]] += x.get(...i)));
  for (let r = 0; r < rows; r++) mean[r] /= features;
  forEachIndex(x.shape, (i) => {
    const r = rowFeature(i, x.shape, leadingRank)[0];
    const d = x.get(...i) - mean[r];
    variance[r] += d * d;
  });
  for (let r = 0; r < rows; r++) variance[r] /= features;
  const y = new Float64Array(sizeOf(x.shape));
  forEachIndex(x.shape, (i, flat) => {
    const r = rowFeature(i, x.shape, leadingRank)[0];
    const p = i.slice(leadingRank);
    const xhat = (x.get(...i) - mean[r]) / Math.sqrt(variance[r] + o.eps);
    y[flat] = xhat * (params.weight === undefined ? 1 : params.weight.get(...p)) + (params.bias === undefined ? 0 : params.bias.get(...p));
  });
  return { y, mean, variance, rows, features };
}

/** Layer norm backward by the staged derivation, per row. */
export function refLayerNormBackward(
  x: Tensor,
  dy: Tensor,
  params: { weight?: Tensor; bias?: Tensor },
  fwd: RefLayerNormForward,
  o: RefLayerNormOptions,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const leadingRank = x.shape.length - o.normalizedShape.length;
  const H = fwd.features;
  const { mean, variance } = fwd;
  const dweight = new Float64Array(H);
  const dbias = new Float64Array(H);
  const dvar = new Float64Array(fwd.rows);
  const dmean = new Float64Array(fwd.rows);
  const sumCentered = new Float64Array(fwd.rows);
  const gammaAt = (i: readonly number[]): number => (params.weight === undefined ? 1 : params.weight.get(...i.slice(leadingRank)));
  forEachIndex(x.shape, (i) => {
    const [r, j] = rowFeature(i, x.shape, leadingRank);
    const centered = x.get(...i) - mean[r];
    const std = Math.sqrt(variance[r] + o.eps);
    const g = dy.get(...i);
    dweight[j] += g * (centered / std);
    dbias[j] += g;
    const dxhat = g * gammaAt(i);
    dvar[r] += dxhat * centered * -0.5 * Math.pow(variance[r] + o.eps, -1.5);
    dmean[r] += -dxhat / std;
    sumCentered[r] += centered;
  });
  for (let r = 0; r < fwd.rows; r++) dmean[r] += dvar[r] * (-2 / H) * sumCentered[r];
  const dx = new Float64Array(sizeOf(x.shape));
  forEachIndex(x.shape, (i, flat) => {
    const r = rowFeature(i, x.shape, leadingRank)[0];
    const dxhat = dy.get(...i) * gammaAt(i);
    dx[flat] = dxhat / Math.sqrt(variance[r] + o.eps) + (dvar[r] * 2 * (x.get(...i) - mean[r])) / H + dmean[r] / H;
  });
  return { dx, dweight, dbias };
}

// ---------------------------------------------------------------------------------------
// Weight norm

/** Resolved weight-norm options, as the reference needs them. */
export interface RefWeightNormOptions {
  readonly shape: readonly number[];
  /** Non-negative, or null for one norm over everything. */
  readonly dim: number | null;
  readonly eps: number | null;
}

function sliceOf(index: readonly number[], dim: number | null): number {
  return dim === null ? 0 : index[dim];
}

/** Per-slice ‖v‖ = sqrt(Σv² + eps), summed plainly (no rescaling: keep |v| moderate). */
export function refSliceNorms(v: Tensor, o: RefWeightNormOptions): Float64Array {
  const slices = o.dim === null ? 1 : o.shape[o.dim];
  const sums = new Float64Array(slices);
  forEachIndex(v.shape, (i) => {
    const value = v.get(...i);
    sums[sliceOf(i, o.dim)] += value * value;
  });
  return sums.map((s) => Math.sqrt(s + (o.eps ?? 0)));
}

/** g per slice from a PyTorch-shaped g (size of v on dim, 1 elsewhere; [] for null). */
function gOf(g: Tensor, slice: number, o: RefWeightNormOptions): number {
  if (o.dim === null) return g.get();
  const index = o.shape.map((_, k) => (k === o.dim ? slice : 0));
  return g.get(...index);
}

/** Weight norm forward: w = g·v/‖v‖ per slice. */
export function refWeightNormForward(v: Tensor, g: Tensor, o: RefWeightNormOptions): { w: Float64Array; norms: Float64Array } {
  const norms = refSliceNorms(v, o);
  const w = new Float64Array(sizeOf(v.shape));
  forEachIndex(v.shape, (i, flat) => {
    const s = sliceOf(i, o.dim);
    w[flat] = (gOf(g, s, o) * v.get(...i)) / norms[s];
  });
  return { w, norms };
}

/**
 * Weight norm backward by the chain rule through ‖v‖:
 * ∂w/∂g = v/‖v‖, ∂w_i/∂v_j = g(δ_ij/‖v‖ − v_i v_j/‖v‖³).
 */
export function refWeightNormBackward(v: Tensor, g: Tensor, dw: Tensor, o: RefWeightNormOptions): { dv: Float64Array; dg: Float64Array } {
  const norms = refSliceNorms(v, o);
  const slices = norms.length;
  const dg = new Float64Array(slices);
  const dwDotV = new Float64Array(slices);
  forEachIndex(v.shape, (i) => {
    const s = sliceOf(i, o.dim);
    dg[s] += (dw.get(...i) * v.get(...i)) / norms[s];
    dwDotV[s] += dw.get(...i) * v.get(...i);
  });
  const dv = new Float64Array(sizeOf(v.shape));
  forEachIndex(v.shape, (i, flat) => {
    const s = sliceOf(i, o.dim);
    const n = norms[s];
    const gs = gOf(g, s, o);
    dv[flat] = (gs * dw.get(...i)) / n - (gs * v.get(...i) * dwDotV[s]) / (n * n * n);
  });
  return { dv, dg };
}

// ---------------------------------------------------------------------------------------
// Weight-normalized dense layer

/** Options of the dense reference. */
export interface RefLinearOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  readonly eps: number | null;
}

function linearWeight(params: { v: Tensor; g: Tensor }, o: RefLinearOptions): Float64Array[] {
  const W: Float64Array[] = [];
  for (let r = 0; r < o.outFeatures; r++) {
    let ss = 0;
    for (let i = 0; i < o.inFeatures; i++) ss += params.v.get(r, i) ** 2;
    const n = Math.sqrt(ss + (o.eps ?? 0));
    const row = new Float64Array(o.inFeatures);
    for (let i = 0; i < o.inFeatures; i++) row[i] = (params.g.get(r) * params.v.get(r, i)) / n;
    W.push(row);
  }
  return W;
}

/** y = x·Wᵀ + b with W = g·v/‖v‖ per row; y row-major of shape (..., out). */
export function refLinearForward(x: Tensor, params: { v: Tensor; g: Tensor; bias?: Tensor }, o: RefLinearOptions): Float64Array {
  const W = linearWeight(params, o);
  const lead = x.shape.slice(0, -1);
  const rows = sizeOf(lead);
  const y = new Float64Array(rows * o.outFeatures);
  forEachIndex(lead, (li, n) => {
    for (let r = 0; r < o.outFeatures; r++) {
      let acc = params.bias === undefined ? 0 : params.bias.get(r);
      for (let i = 0; i < o.inFeatures; i++) acc += x.get(...li, i) * W[r][i];
      y[n * o.outFeatures + r] = acc;
    }
  });
  return y;
}

/** Backward of the dense layer: dx = dy·W, dW = dyᵀx, db = Σdy, then weight norm's chain rule. */
export function refLinearBackward(
  x: Tensor,
  dy: Tensor,
  params: { v: Tensor; g: Tensor; bias?: Tensor },
  o: RefLinearOptions,
): { dx: Float64Array; dv: Float64Array; dg: Float64Array; dbias: Float64Array } {
  const W = linearWeight(params, o);
  const lead = x.shape.slice(0, -1);
  const dx = new Float64Array(sizeOf(x.shape));
  const dW = o.outFeatures === 0 ? [] : W.map((row) => new Float64Array(row.length));
  const dbias = new Float64Array(o.outFeatures);
  forEachIndex(lead, (li, n) => {
    for (let r = 0; r < o.outFeatures; r++) {
      const d = dy.get(...li, r);
      dbias[r] += d;
      for (let i = 0; i < o.inFeatures; i++) {
        dx[n * o.inFeatures + i] += d * W[r][i];
        dW[r][i] += d * x.get(...li, i);
      }
    }
  });
  const dv = new Float64Array(o.outFeatures * o.inFeatures);
  const dg = new Float64Array(o.outFeatures);
  for (let r = 0; r < o.outFeatures; r++) {
    let ss = 0;
    let dot = 0;
    for (let i = 0; i < o.inFeatures; i++) {
      ss += params.v.get(r, i) ** 2;
      dot += dW[r][i] * params.v.get(r, i);
    }
    const n = Math.sqrt(ss + (o.eps ?? 0));
    const gr = params.g.get(r);
    dg[r] = dot / n;
    for (let i = 0; i < o.inFeatures; i++) dv[r * o.inFeatures + i] = (gr * dW[r][i]) / n - (gr * params.v.get(r, i) * dot) / (n * n * n);
  }
  return { dx, dv, dg, dbias };
}
