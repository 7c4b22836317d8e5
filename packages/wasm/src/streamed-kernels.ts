import { Float64Scratch, addCellParamSums, cellCoefficients, cellInputGradientCoefficients } from '@normkit/core';
import { centersSplitFloat32, fitsFloat32 } from './float32-range.js';
import type {
  BackwardCellsCall,
  BackwardRowsCall,
  Blocks,
  CellsLayout,
  GradientSumsCall,
  InputGradientCall,
  MomentsCall,
  NormalizeBatchCall,
  NormalizeCellsCall,
  NormalizeRowsCall,
  RowsLayout,
  StridedView,
} from '@normkit/core';
import type { WasmKernels } from './backend.js';
import type { CellPiece } from './streaming.js';
import { PIECE_LIMIT, Staged, forEachCellPiece } from './streaming.js';

// The streamed forms of the wasm engine kernels, for calls whose tensors live on the JS heap
// (the zero-config default): each tensor goes through wasm memory one cache-sized piece at a
// time (see streaming.ts) instead of being copied in and out whole. The arithmetic is the same
// kernels' on the same values, so results equal the whole-tensor path's, except that the
// statistics of a group split over pieces are merged with Chan's formula in float64 here.

/** Per-call temporaries (core's Float64Scratch): running counts and sums of the pieces. */
const scratch = new Float64Scratch(6);

/**
 * Fewest elements for which a call streams. Below it (4 MiB of float32) whole copies stay in
 * the caches and one kernel run per tensor costs less than the pieces' calls and merges.
 */
export const STREAM_MIN_ELEMENTS = 1 << 20;

/**
 * True when the call should stream: a tensor of at least {@link STREAM_MIN_ELEMENTS} elements
 * of which some operand is on the JS heap, and no worker threads split the kernels.
 *
 * @param w - the backend
 * @param views - the call's tensors (all of the same size)
 */
export function shouldStream(w: WasmKernels, views: readonly StridedView[]): boolean {
  if (w.threads !== null) return false;
  let size = 1;
  for (const extent of views[0].shape) size *= extent;
  if (size < STREAM_MIN_ELEMENTS) return false;
  for (const v of views) if (v.data.buffer !== w.pool.buffer) return true;
  return false;
}

/** Counts a streamed call, and its staged operands as copies: inputs in, outputs out (once per call). */
function countCopies(w: WasmKernels, staged: readonly Staged[], inputs: number): void {
  w.counters.streamed++;
  for (let i = 0; i < staged.length; i++) {
    if (staged[i].stage === 0) continue;
    if (i < inputs) w.counters.copiedIn++;
    else w.counters.copiedOut++;
  }
}

/**
 * Pieces of a `(rows, features)` row-major tensor that hold whole rows: at most
 * `max(limit, features)` elements each.
 */
function forEachRowPiece(rows: number, features: number, visit: (r0: number, count: number) => void): void {
  const per = Math.max(1, Math.floor(PIECE_LIMIT / Math.max(1, features)));
  for (let r = 0; r < rows; r += per) visit(r, Math.min(per, rows - r));
}

/** Staging size for whole-row pieces. */
const rowLimit = (features: number) => Math.max(PIECE_LIMIT, features);

/**
 * Streamed `moments` over the statistics blocks, merging the pieces' per-group mean and biased
 * variance with Chan's formula (uncentered: the pieces' mean squares, weighted by their counts).
 * Writes `mean` and `variance` per group.
 */
function streamedMoments(w: WasmKernels, sx: Staged, blocks: Blocks, centered: boolean, pm: number, pv: number, mean: Float64Array, variance: Float64Array): void {
  const groups = mean.length;
  const counts = scratch.take(0, groups);
  const m2 = scratch.take(1, groups);
  // A group inside one piece keeps the kernel's own variance (no m2·n/n round trip): `variance`
  // holds it until a second piece of the group arrives, then NaN marks a merged group.
  const merged = scratch.take(5, groups);
  mean.fill(0);
  const kernel = centered ? w.k.moments : w.k.squareMoments;
  const C = blocks.C;
  forEachCellPiece(blocks, PIECE_LIMIT, (p: CellPiece) => {
    const xp = sx.input(w, p.start, p.length);
    kernel(xp, p.outer, p.channels, p.inner, pm, pv);
    const f64 = w.pool.f64;
    const nB = p.outer * p.inner;
    for (let j = 0; j < p.channels; j++) {
      const g = p.a * C + p.c0 + j;
      const meanB = f64[(pm >> 3) + j];
      const m2B = f64[(pv >> 3) + j] * nB;
      const nA = counts[g];
      counts[g] = nA + nB;
      if (nA === 0) {
        // the group's first piece: its statistics as the kernel gave them
        mean[g] = meanB;
        m2[g] = m2B;
        variance[g] = f64[(pv >> 3) + j];
        continue;
      }
      const total = nA + nB;
      const delta = meanB - mean[g];
      mean[g] += (delta * nB) / total;
      m2[g] += m2B + (delta * delta * nA * nB) / total;
      merged[g] = 1;
    }
  });
  for (let g = 0; g < groups; g++) if (merged[g] !== 0) variance[g] = Math.max(0, m2[g]) / counts[g];
}

/** Streamed cells forward map from float32 constants already in wasm memory (pc, pl, ps, pb: per cell). */
function streamedNormalizeCells(w: WasmKernels, sx: Staged, sy: Staged, blocks: Blocks, pc: number, pl: number, ps: number, pb: number): void {
  const C = blocks.C;
  forEachCellPiece(blocks, PIECE_LIMIT, (p) => {
    const xp = sx.input(w, p.start, p.length);
    const cell = 4 * (p.a * C + p.c0);
    w.k.bnNormalize(xp, p.outer, p.channels, p.inner, pc + cell, pl + cell, ps + cell, pb + cell, sy.output(p.start));
    sy.finish(w, p.start, p.length);
  });
}

/** Streamed rows forward map (row statistics pm, ps as float64; γ, β as float32 per feature). */
function streamedNormalizeRows(w: WasmKernels, sx: Staged, sy: Staged, layout: RowsLayout, pm: number, ps: number, pg: number, pb: number): void {
  const F = layout.features;
  forEachRowPiece(layout.rows, F, (r0, count) => {
    const start = r0 * F;
    const length = count * F;
    const xp = sx.input(w, start, length);
    w.k.lnForward(xp, count, F, pm + 8 * r0, ps + 8 * r0, pg, pb, sy.output(start));
    sy.finish(w, start, length);
  });
}

/** Streamed cells input gradient from float32 constants in wasm memory. */
function streamedInputGradient(w: WasmKernels, sx: Staged, sd: Staged, so: Staged, blocks: Blocks, pc: number, pl: number, pa: number, pb: number, pk: number): void {
  const C = blocks.C;
  forEachCellPiece(blocks, PIECE_LIMIT, (p) => {
    const xp = sx.input(w, p.start, p.length);
    const dp = sd.input(w, p.start, p.length);
    const cell = 4 * (p.a * C + p.c0);
    w.k.bnInputGradient(xp, dp, p.outer, p.channels, p.inner, pc + cell, pl + cell, pa + cell, pb + cell, pk + cell, so.output(p.start));
    so.finish(w, p.start, p.length);
  });
}

/**
 * Streamed per-cell gradient sums `Σ dy`, `Σ dy·(x − c)` added into `sumDy`, `sumDyCentered`
 * (zeroed by the caller); the cells' float64 centers are at `pc64`, `ps` and `pt` hold a piece's
 * sums (at least C float64 each).
 */
function streamedGradientSums(
  w: WasmKernels,
  sx: Staged,
  sd: Staged,
  blocks: Blocks,
  pc64: number,
  ps: number,
  pt: number,
  sumDy: Float64Array,
  sumDyCentered: Float64Array,
): void {
  const C = blocks.C;
  forEachCellPiece(blocks, PIECE_LIMIT, (p) => {
    const xp = sx.input(w, p.start, p.length);
    const dp = sd.input(w, p.start, p.length);
    const cell = p.a * C + p.c0;
    w.k.bnGradientSums(xp, dp, p.outer, p.channels, p.inner, pc64 + 8 * cell, ps, pt);
    const f64 = w.pool.f64;
    for (let j = 0; j < p.channels; j++) {
      sumDy[cell + j] += f64[(ps >> 3) + j];
      sumDyCentered[cell + j] += f64[(pt >> 3) + j];
    }
  });
}

/** `moments`, streamed: the pieces' statistics merged per group. */
export function momentsStreamed(w: WasmKernels, call: MomentsCall, blocks: Blocks): boolean {
  const { x, centered, mean, variance } = call;
  const arrays = w.carve([8 * blocks.C, 8 * blocks.C]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x], PIECE_LIMIT);
  if (staged === null) return w.decline();
  const [pm, pv] = arrays;
  streamedMoments(w, staged[0], blocks, centered, pm, pv, mean, variance);
  countCopies(w, staged, 1);
  Staged.release(w, staged);
  return w.handled('moments');
}

/** `gradientSums`, streamed: the pieces' per-cell sums added up. */
export function gradientSumsStreamed(w: WasmKernels, call: GradientSumsCall, blocks: Blocks): boolean {
  const { x, dy, center, sumDy, sumDyCentered } = call;
  const n = blocks.A * blocks.C;
  const arrays = w.carve([8 * n, 8 * blocks.C, 8 * blocks.C]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, dy], PIECE_LIMIT);
  if (staged === null) return w.decline();
  const [pc64, ps, pt] = arrays;
  w.putF64(pc64, center);
  sumDy.fill(0);
  sumDyCentered.fill(0);
  streamedGradientSums(w, staged[0], staged[1], blocks, pc64, ps, pt, sumDy, sumDyCentered);
  countCopies(w, staged, 2);
  Staged.release(w, staged);
  return w.handled('gradientSums');
}

/** `normalizeCells`, streamed. */
export function normalizeCellsStreamed(w: WasmKernels, call: NormalizeCellsCall, blocks: Blocks): boolean {
  const { x, y, center, scale, shift } = call;
  const n = blocks.A * blocks.C;
  const arrays = w.carve([4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, y], PIECE_LIMIT);
  if (staged === null) return w.decline();
  const [pc, pl, ps, pb] = arrays;
  w.putCenter(pc, pl, center);
  w.putF32(ps, scale);
  w.putF32(pb, shift);
  streamedNormalizeCells(w, staged[0], staged[1], blocks, pc, pl, ps, pb);
  countCopies(w, staged, 1);
  Staged.release(w, staged);
  return w.handled('normalizeCells');
}

/** `inputGradient`, streamed. */
export function inputGradientStreamed(w: WasmKernels, call: InputGradientCall, blocks: Blocks): boolean {
  const { x, dy, dx, center, a, b, k } = call;
  const n = blocks.A * blocks.C;
  const arrays = w.carve([4 * n, 4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, dy, dx], PIECE_LIMIT);
  if (staged === null) return w.decline();
  const [pc, pl, pa, pb, pk] = arrays;
  w.putCenter(pc, pl, center);
  w.putF32(pa, a);
  w.putF32(pb, b);
  w.putF32(pk, k);
  streamedInputGradient(w, staged[0], staged[1], staged[2], blocks, pc, pl, pa, pb, pk);
  countCopies(w, staged, 2);
  Staged.release(w, staged);
  return w.handled('inputGradient');
}

/** `normalizeRows`, streamed. */
export function normalizeRowsStreamed(w: WasmKernels, call: NormalizeRowsCall): boolean {
  const { x, y, rows: layout, center, invStd, weight, bias } = call;
  const { rows, features } = layout;
  const arrays = w.carve([8 * rows, 8 * rows, 4 * features, 4 * features]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, y], rowLimit(features));
  if (staged === null) return w.decline();
  const [pm, ps, pg, pb] = arrays;
  w.putF64(pm, center);
  w.putF64(ps, invStd);
  w.putAffine(pg, pb, features, weight, bias);
  streamedNormalizeRows(w, staged[0], staged[1], layout, pm, ps, pg, pb);
  countCopies(w, staged, 1);
  Staged.release(w, staged);
  return w.handled('normalizeRows');
}

/**
 * Puts a rows backward call's constants at the carved `[mean, invStd, γ, Σdy·x̂, Σdy]` (float64,
 * float64, float32, float64, float64) and returns the kernel's factors: `1/m` on the mean term
 * when centered with batch statistics (else 0), `1/m` on the x̂ term with batch statistics (else 0).
 */
export function putRowsBackward(w: WasmKernels, call: BackwardRowsCall, arrays: readonly number[]): { meanFactor: number; xhatFactor: number } {
  const { center, invStd, weight, centered, batchStats, count, sumDy, sumDyXhat } = call;
  const [pm, ps, pg, pdg, pdb] = arrays;
  w.putF64(pm, center);
  w.putF64(ps, invStd);
  w.putGamma(pg, call.rows.features, weight);
  w.putF64(pdg, sumDyXhat);
  w.putF64(pdb, sumDy);
  return { meanFactor: batchStats && centered ? 1 / count : 0, xhatFactor: batchStats ? 1 / count : 0 };
}

/** `backwardRows`, streamed in pieces of whole rows; the parameter sums accumulate across pieces in wasm memory. */
export function backwardRowsStreamed(w: WasmKernels, call: BackwardRowsCall): boolean {
  const { x, dy, dx, rows: layout, sumDy, sumDyXhat } = call;
  const { rows, features } = layout;
  const arrays = w.carve([8 * rows, 8 * rows, 4 * features, 8 * features, 8 * features]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, dy, dx], rowLimit(features));
  if (staged === null) return w.decline();
  const [sx, sd, so] = staged;
  const [pm, ps, pg, pdg, pdb] = arrays;
  const { meanFactor, xhatFactor } = putRowsBackward(w, call, arrays);
  forEachRowPiece(rows, features, (r0, n) => {
    const start = r0 * features;
    const length = n * features;
    const xp = sx.input(w, start, length);
    const dp = sd.input(w, start, length);
    w.k.lnBackward(xp, dp, n, features, pm + 8 * r0, ps + 8 * r0, pg, so.output(start), pdg, pdb, meanFactor, xhatFactor);
    so.finish(w, start, length);
  });
  w.getF64(pdg, sumDyXhat);
  w.getF64(pdb, sumDy);
  countCopies(w, staged, 2);
  Staged.release(w, staged);
  return w.handled('backwardRows');
}

/**
 * `normalizeBatch`, streamed: the statistics over the pieces of `x` (merged per group), then
 * `invStd`, the caller's `beforeWrite` check (nothing is written to `y` before it returns), the
 * folding, and the forward map over the pieces again.
 */
export function normalizeBatchStreamed(w: WasmKernels, call: NormalizeBatchCall, stats: Blocks): boolean {
  const { x, y, plan, centered, eps, weight, bias, center, variance, invStd } = call;
  const affine = plan.affine;
  const groups = plan.groups;
  const rows = affine.kind === 'rows';
  const n = affine.kind === 'cells' ? affine.cells : 0;
  const features = rows ? (affine as RowsLayout).features : 0;
  const statsChannels = stats.C;
  const arrays = rows
    ? w.carve([8 * statsChannels, 8 * statsChannels, 8 * groups, 8 * groups, 4 * features, 4 * features])
    : w.carve([8 * statsChannels, 8 * statsChannels, 4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, y], rows ? rowLimit(features) : PIECE_LIMIT);
  if (staged === null) return w.decline();
  const [sx, sy] = staged;
  try {
    const [pm, pv] = arrays;
    streamedMoments(w, sx, stats, centered, pm, pv, center, variance);
    for (let g = 0; g < groups; g++) invStd[g] = 1 / Math.sqrt(variance[g] + eps);
    // As the unstreamed normalizeBatch: float32 constants in range, checked before beforeWrite.
    const folded = rows ? null : cellCoefficients(affine as CellsLayout, { center, invStd }, weight, bias, coefficientScratch);
    if ((folded === null ? !fitsFloat32(invStd, weight, bias) : !fitsFloat32(folded.scale, folded.shift)) || !centersSplitFloat32(center)) return w.decline();
    call.beforeWrite?.(center, variance, invStd);
    if (folded === null) {
      const [, , prm, prs, pg, pb] = arrays;
      w.putF64(prm, center);
      w.putF64(prs, invStd);
      w.putAffine(pg, pb, features, weight, bias);
      streamedNormalizeRows(w, sx, sy, affine as RowsLayout, prm, prs, pg, pb);
    } else {
      const cells = affine as CellsLayout;
      const [, , pc, pl, ps, pb] = arrays;
      w.putCenter(pc, pl, folded.center);
      w.putF32(ps, folded.scale);
      w.putF32(pb, folded.shift);
      streamedNormalizeCells(w, sx, sy, cells.blocks as Blocks, pc, pl, ps, pb);
    }
  } finally {
    Staged.release(w, staged);
  }
  countCopies(w, staged, 1);
  return w.handled('normalizeBatch');
}

/** Forward and backward coefficients (core's Float64Scratch), copied into wasm memory within the call. */
const coefficientScratch = new Float64Scratch(6);

/**
 * `backwardCells`, streamed: the per-cell gradient sums over the pieces (added up here), the
 * folding (core's `cellInputGradientCoefficients`, then `addCellParamSums` once the call is
 * kept), then the input gradient over the pieces.
 */
export function backwardCellsStreamed(w: WasmKernels, call: BackwardCellsCall, blocks: Blocks): boolean {
  const { x, dy, dx, cells } = call;
  const n = cells.cells;
  const C = blocks.C;
  const arrays = w.carve([8 * n, 8 * C, 8 * C, 4 * n, 4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const staged = Staged.all(w, [x, dy, dx], PIECE_LIMIT);
  if (staged === null) return w.decline();
  const [sx, sd, so] = staged;
  try {
    const [pc64, ps, pt, pc, pl, pa, pb, pk] = arrays;
    const sumDy = scratch.take(2, n);
    const sumDyCentered = scratch.take(3, n);
    if (call.batchStats || cells.cellParam !== null) {
      const center = scratch.take(4, n);
      for (let j = 0; j < n; j++) center[j] = call.center[cells.cellGroup[j]];
      w.putF64(pc64, center);
      streamedGradientSums(w, sx, sd, blocks, pc64, ps, pt, sumDy, sumDyCentered);
    }
    const { center, a: ca, b: cb, k: ck } = cellInputGradientCoefficients(call, sumDy, sumDyCentered, undefined, coefficientScratch);
    if (!fitsFloat32(ca, cb, ck) || !centersSplitFloat32(center)) {
      // Nothing written to dx yet, nor to the parameter sums (the fallback adds into them); the staging is released below.
      return w.decline();
    }
    addCellParamSums(call, sumDy, sumDyCentered);
    w.putCenter(pc, pl, center);
    w.putF32(pa, ca);
    w.putF32(pb, cb);
    w.putF32(pk, ck);
    streamedInputGradient(w, sx, sd, so, blocks, pc, pl, pa, pb, pk);
  } finally {
    Staged.release(w, staged);
  }
  countCopies(w, staged, 2);
  return w.handled('backwardCells');
}
