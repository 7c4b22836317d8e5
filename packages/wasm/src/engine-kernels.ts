import { Float64Scratch, addCellParamSums, cellCoefficients, cellInputGradientCoefficients, registerKernel } from '@normkit/core';
import { centersSplitFloat32, fitsFloat32 } from './float32-range.js';
import type {
  BackwardCellsCall,
  BackwardRowsCall,
  Blocks,
  CellsLayout,
  GradientSumsCall,
  InputGradientCall,
  KernelImplementation,
  KernelName,
  MomentsCall,
  NormalizeBatchCall,
  NormalizeCellsCall,
  NormalizeRowsCall,
  RowsLayout,
} from '@normkit/core';
import type { WasmKernels } from './backend.js';
import { isFloat32RowMajor } from './backend.js';
import {
  backwardCellsStreamed,
  backwardRowsStreamed,
  gradientSumsStreamed,
  inputGradientStreamed,
  momentsStreamed,
  normalizeBatchStreamed,
  normalizeCellsStreamed,
  normalizeRowsStreamed,
  putRowsBackward,
  shouldStream,
} from './streamed-kernels.js';

/**
 * The engine kernels with a wasm implementation; the backend registers these and no others,
 * so the second-order kernels (`doubleBackwardSums`, `doubleBackwardInput`,
 * `doubleBackwardRows`) go straight to core's TypeScript kernels (no call is counted as declined).
 */
export const WASM_KERNEL_NAMES = [
  'normalizeBatch',
  'backwardCells',
  'moments',
  'normalizeCells',
  'normalizeRows',
  'gradientSums',
  'inputGradient',
  'backwardRows',
] as const satisfies readonly KernelName[];

/** A kernel with a wasm implementation. */
export type WasmKernelName = (typeof WASM_KERNEL_NAMES)[number];

/** The wasm implementation of each kernel in {@link WASM_KERNEL_NAMES}. */
export type WasmImplementations = { readonly [K in WasmKernelName]: KernelImplementation<K> };

/**
 * Registers every kernel of {@link WASM_KERNEL_NAMES} under one backend name and priority, all
 * or nothing: when the registry refuses one (a copy of `@normkit/core` that does not know it,
 * say), the registrations made before it are removed and the error is rethrown.
 *
 * @param backend - the backend name the registrations carry
 * @param priority - their priority
 * @param implementations - the wasm implementation of each kernel
 * @returns a function that removes every registration made
 * @throws NormkitError `E_REGISTRY` from `registerKernel`, with nothing left registered
 */
export function registerWasmKernels(backend: string, priority: number, implementations: WasmImplementations): () => void {
  const removers: (() => void)[] = [];
  const removeAll = (): void => {
    for (const remove of removers) remove();
    removers.length = 0;
  };
  try {
    for (const kernel of WASM_KERNEL_NAMES) removers.push(registerOne(kernel, backend, priority, implementations));
  } catch (error) {
    removeAll();
    throw error;
  }
  return removeAll;
}

function registerOne<K extends WasmKernelName>(kernel: K, backend: string, priority: number, implementations: WasmImplementations): () => void {
  return registerKernel({ kernel, backend, priority, run: implementations[kernel] });
}

/**
 * Temporaries of the fused kernels (core's {@link Float64Scratch}: per-cell sums and
 * coefficients that are copied into wasm memory within the call, never returned).
 */
const backwardScratch = new Float64Scratch(3);
const coefficientScratch = new Float64Scratch(6);

/** Elements of one `(B, C, D)` slice of the blocks. */
const sliceSize = (b: Blocks) => b.B * b.C * b.D;

/**
 * The wasm implementations of core's engine kernels (see core's `engine/calls.ts` for what each
 * call computes). Each handles float32 row-major views in the contiguous forms: the cells
 * kernels the plan's `Blocks {A, B, C, D}` (one wasm run per `A` slice, each a `(B, C, D)`
 * block), the rows kernels the `leadingRows` layout. Anything else — float64, a float64 `dy`,
 * strided views, no blocking, an empty tensor, a pool too full for the copies and scratch — is
 * declined before anything is written, and core's TypeScript kernel runs. The second-order
 * kernels have no wasm implementation and are not registered (see {@link WASM_KERNEL_NAMES}).
 *
 * @param w - the backend's placement, scratch and counters
 * @returns an implementation per kernel name, to register with `registerKernel`
 */
export function wasmImplementations(w: WasmKernels): WasmImplementations {
  return {
    normalizeBatch: (call) => normalizeBatch(w, call),
    backwardCells: (call) => backwardCells(w, call),
    moments: (call) => moments(w, call),
    normalizeCells: (call) => normalizeCells(w, call),
    normalizeRows: (call) => normalizeRows(w, call),
    gradientSums: (call) => gradientSums(w, call),
    inputGradient: (call) => inputGradient(w, call),
    backwardRows: (call) => backwardRows(w, call),
  };
}

/**
 * `moments`: centered per-group mean and biased variance (chunks of one pass of unshifted
 * float64 sums, an ill-conditioned chunk redone with an exact pass of deviations from its mean,
 * merged with Chan's formula), or the uncentered mean square.
 */
function moments(w: WasmKernels, call: MomentsCall): boolean {
  const { x, plan, centered, mean, variance } = call;
  const blocks = plan.statsBlocks;
  if (blocks === null || plan.groups === 0 || plan.count === 0 || !isFloat32RowMajor(x)) return w.decline();
  const { A, B, C, D } = blocks;
  const groups = A * C;
  w.assertUsable(x, 'x');
  if (shouldStream(w, [x])) return momentsStreamed(w, call, blocks);
  const arrays = w.carve([8 * groups, 8 * groups]);
  if (arrays === null) return w.decline();
  const slice = sliceSize(blocks);
  const xp = w.place(x, A * slice);
  if (xp === null) return w.decline();
  const [m, v] = arrays;
  const kernel = centered ? 'moments' : 'squareMoments';
  for (let a = 0; a < A; a++) w.run(kernel, [xp.ptr + 4 * a * slice, B, C, D, m + 8 * a * C, v + 8 * a * C], slice);
  w.getF64(m, mean);
  w.getF64(v, variance);
  w.release(xp);
  return w.handled('moments');
}

/** `normalizeCells`: `y = ((x − c) − cLo)·scale + shift` per cell, constants in float32 (the center split in two floats). */
function normalizeCells(w: WasmKernels, call: NormalizeCellsCall): boolean {
  const { x, y, cells, center, scale, shift } = call;
  const blocks = cells.blocks;
  if (blocks === null || cells.cells === 0 || !isFloat32RowMajor(x) || !isFloat32RowMajor(y)) return w.decline();
  if (!fitsFloat32(scale, shift) || !centersSplitFloat32(center)) return w.decline();
  const { A, B, C, D } = blocks;
  const n = A * C;
  const slice = sliceSize(blocks);
  if (slice === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(y, 'y');
  if (shouldStream(w, [x, y])) return normalizeCellsStreamed(w, call, blocks);
  const arrays = w.carve([4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, A * slice);
  if (xp === null) return w.decline();
  const yp = w.placeOutput(y, A * slice);
  if (yp === null) {
    w.release(xp);
    return w.decline();
  }
  const [pc, pl, ps, pb] = arrays;
  w.putCenter(pc, pl, center);
  w.putF32(ps, scale);
  w.putF32(pb, shift);
  for (let a = 0; a < A; a++) {
    const at = 4 * a * slice;
    const cell = 4 * a * C;
    w.run('bnNormalize', [xp.ptr + at, B, C, D, pc + cell, pl + cell, ps + cell, pb + cell, yp.ptr + at], slice);
  }
  w.finishOutput(y, A * slice, yp);
  w.release(xp);
  return w.handled('normalizeCells');
}

/** `gradientSums`: `Σ dy` and `Σ dy·(x − c)` per cell, in float64 lanes. */
function gradientSums(w: WasmKernels, call: GradientSumsCall): boolean {
  const { x, dy, cells, center, sumDy, sumDyCentered } = call;
  const blocks = cells.blocks;
  if (blocks === null || cells.cells === 0 || !isFloat32RowMajor(x) || !isFloat32RowMajor(dy)) return w.decline();
  const { A, B, C, D } = blocks;
  const n = A * C;
  const slice = sliceSize(blocks);
  if (slice === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(dy, 'dy');
  if (shouldStream(w, [x, dy])) return gradientSumsStreamed(w, call, blocks);
  const arrays = w.carve([8 * n, 8 * n, 8 * n]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, A * slice);
  if (xp === null) return w.decline();
  const dp = w.place(dy, A * slice);
  if (dp === null) {
    w.release(xp);
    return w.decline();
  }
  const [pc, ps, pt] = arrays;
  w.putF64(pc, center);
  for (let a = 0; a < A; a++) {
    const at = 4 * a * slice;
    const cell = 8 * a * C;
    w.run('bnGradientSums', [xp.ptr + at, dp.ptr + at, B, C, D, pc + cell, ps + cell, pt + cell], slice);
  }
  w.getF64(ps, sumDy);
  w.getF64(pt, sumDyCentered);
  w.release(xp, dp);
  return w.handled('gradientSums');
}

/** `inputGradient`: `dx = a·dy + b·((x − c) − cLo) + k` per cell, constants in float32. */
function inputGradient(w: WasmKernels, call: InputGradientCall): boolean {
  const { x, dy, dx, cells, center, a: ca, b: cb, k: ck } = call;
  const blocks = cells.blocks;
  if (blocks === null || cells.cells === 0 || !isFloat32RowMajor(x) || !isFloat32RowMajor(dy) || !isFloat32RowMajor(dx)) return w.decline();
  if (!fitsFloat32(ca, cb, ck) || !centersSplitFloat32(center)) return w.decline();
  const { A, B, C, D } = blocks;
  const n = A * C;
  const slice = sliceSize(blocks);
  if (slice === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(dy, 'dy');
  w.assertUsable(dx, 'dx');
  if (shouldStream(w, [x, dy, dx])) return inputGradientStreamed(w, call, blocks);
  const arrays = w.carve([4 * n, 4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, A * slice);
  if (xp === null) return w.decline();
  const dp = w.place(dy, A * slice);
  if (dp === null) {
    w.release(xp);
    return w.decline();
  }
  const op = w.placeOutput(dx, A * slice);
  if (op === null) {
    w.release(xp, dp);
    return w.decline();
  }
  const [pc, pl, pa, pb, pk] = arrays;
  w.putCenter(pc, pl, center);
  w.putF32(pa, ca);
  w.putF32(pb, cb);
  w.putF32(pk, ck);
  for (let a = 0; a < A; a++) {
    const at = 4 * a * slice;
    const cell = 4 * a * C;
    w.run('bnInputGradient', [xp.ptr + at, dp.ptr + at, B, C, D, pc + cell, pl + cell, pa + cell, pb + cell, pk + cell, op.ptr + at], slice);
  }
  w.finishOutput(dx, A * slice, op);
  w.release(xp, dp);
  return w.handled('inputGradient');
}

/** `normalizeRows` on `(rows, features)`: `y = (x − c_r)·s_r·γ_j + β_j`, γ and β in float32. */
function normalizeRows(w: WasmKernels, call: NormalizeRowsCall): boolean {
  const { x, y, rows: layout, center, invStd, weight, bias } = call;
  if (!layout.leadingRows || !isFloat32RowMajor(x) || !isFloat32RowMajor(y)) return w.decline();
  if (!fitsFloat32(invStd, weight, bias) || !centersSplitFloat32(center)) return w.decline(); // the kernel reads these as float32
  const { rows, features } = layout;
  const size = rows * features;
  if (size === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(y, 'y');
  if (shouldStream(w, [x, y])) return normalizeRowsStreamed(w, call);
  const arrays = w.carve([8 * rows, 8 * rows, 4 * features, 4 * features]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, size);
  if (xp === null) return w.decline();
  const yp = w.placeOutput(y, size);
  if (yp === null) {
    w.release(xp);
    return w.decline();
  }
  const [pm, ps, pg, pb] = arrays;
  w.putF64(pm, center);
  w.putF64(ps, invStd);
  w.putAffine(pg, pb, features, weight, bias);
  w.run('lnForward', [xp.ptr, rows, features, pm, ps, pg, pb, yp.ptr], size);
  w.finishOutput(y, size, yp);
  w.release(xp);
  return w.handled('normalizeRows');
}

/**
 * `backwardRows` on `(rows, features)`: `dx` with the call's `centered`, `batchStats` and
 * `count`, and `Σ dy`, `Σ dy·x̂` added into the call's accumulators (float64 lanes).
 */
function backwardRows(w: WasmKernels, call: BackwardRowsCall): boolean {
  const { x, dy, dx, rows: layout, sumDy, sumDyXhat } = call;
  if (!layout.leadingRows || !isFloat32RowMajor(x) || !isFloat32RowMajor(dy) || !isFloat32RowMajor(dx)) return w.decline();
  if (!fitsFloat32(call.invStd, call.weight) || !centersSplitFloat32(call.center)) return w.decline(); // the kernel reads these as float32
  const { rows, features } = layout;
  const size = rows * features;
  if (size === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(dy, 'dy');
  w.assertUsable(dx, 'dx');
  if (shouldStream(w, [x, dy, dx])) return backwardRowsStreamed(w, call);
  const arrays = w.carve([8 * rows, 8 * rows, 4 * features, 8 * features, 8 * features]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, size);
  if (xp === null) return w.decline();
  const dp = w.place(dy, size);
  if (dp === null) {
    w.release(xp);
    return w.decline();
  }
  const op = w.placeOutput(dx, size);
  if (op === null) {
    w.release(xp, dp);
    return w.decline();
  }
  const [pm, ps, pg, pdg, pdb] = arrays;
  const { meanFactor, xhatFactor } = putRowsBackward(w, call, arrays);
  w.run('lnBackward', [xp.ptr, dp.ptr, rows, features, pm, ps, pg, op.ptr, pdg, pdb, meanFactor, xhatFactor], size);
  w.getF64(pdg, sumDyXhat);
  w.getF64(pdb, sumDy);
  w.finishOutput(dx, size, op);
  w.release(xp, dp);
  return w.handled('backwardRows');
}

/**
 * `normalizeBatch` (fused): `x` is placed in wasm memory once for both the statistics and the
 * forward map, so a JS-heap input is copied in once and `y` copied out once. The statistics come
 * back to JS for `invStd`, the caller's `beforeWrite` check and the per-cell folding (core's
 * `cellCoefficients`), then the cells or rows forward kernel runs on the same copy.
 */
function normalizeBatch(w: WasmKernels, call: NormalizeBatchCall): boolean {
  const { x, y, plan, centered, eps, weight, bias, center, variance, invStd } = call;
  const stats = plan.statsBlocks;
  const affine = plan.affine;
  if (stats === null || plan.groups === 0 || plan.count === 0 || !isFloat32RowMajor(x) || !isFloat32RowMajor(y)) return w.decline();
  if (affine.kind === 'cells' ? affine.blocks === null || affine.cells === 0 : !affine.leadingRows) return w.decline();
  const size = stats.A * sliceSize(stats);
  if (size === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(y, 'y');
  if (shouldStream(w, [x, y])) return normalizeBatchStreamed(w, call, stats);
  const groups = plan.groups;
  const rows = affine.kind === 'rows';
  const n = affine.kind === 'cells' ? affine.cells : 0;
  const features = rows ? affine.features : 0;
  const arrays = rows
    ? w.carve([8 * groups, 8 * groups, 4 * features, 4 * features])
    : w.carve([8 * groups, 8 * groups, 4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, size);
  if (xp === null) return w.decline();
  const yp = w.placeOutput(y, size);
  if (yp === null) {
    w.release(xp);
    return w.decline();
  }
  try {
    const [pm, pv] = arrays;
    const statsSlice = sliceSize(stats);
    const kernel = centered ? 'moments' : 'squareMoments';
    for (let a = 0; a < stats.A; a++) w.run(kernel, [xp.ptr + 4 * a * statsSlice, stats.B, stats.C, stats.D, pm + 8 * a * stats.C, pv + 8 * a * stats.C], statsSlice);
    w.getF64(pm, center);
    w.getF64(pv, variance);
    for (let g = 0; g < groups; g++) invStd[g] = 1 / Math.sqrt(variance[g] + eps);
    // The map's float32 constants must be normal floats (see float32-range.ts); else the
    // TypeScript kernels run the call. Checked before beforeWrite, so nothing is committed twice.
    const folded = affine.kind === 'rows' ? null : cellCoefficients(affine, { center, invStd }, weight, bias, coefficientScratch);
    if ((folded === null ? !fitsFloat32(invStd, weight, bias) : !fitsFloat32(folded.scale, folded.shift)) || !centersSplitFloat32(center)) {
      w.release(xp, yp);
      return w.decline();
    }
    call.beforeWrite?.(center, variance, invStd);
    if (folded === null) {
      const [, , pg, pb] = arrays;
      w.putF64(pm, center);
      w.putF64(pv, invStd);
      w.putAffine(pg, pb, features, weight, bias);
      w.run('lnForward', [xp.ptr, (affine as RowsLayout).rows, features, pm, pv, pg, pb, yp.ptr], size);
    } else {
      const blocks = (affine as CellsLayout).blocks as Blocks;
      const [, , pc, pl, ps, pb] = arrays;
      w.putCenter(pc, pl, folded.center);
      w.putF32(ps, folded.scale);
      w.putF32(pb, folded.shift);
      const slice = sliceSize(blocks);
      for (let a = 0; a < blocks.A; a++) {
        const at = 4 * a * slice;
        const cell = 4 * a * blocks.C;
        w.run('bnNormalize', [xp.ptr + at, blocks.B, blocks.C, blocks.D, pc + cell, pl + cell, ps + cell, pb + cell, yp.ptr + at], slice);
      }
    }
  } catch (error) {
    w.release(xp, yp); // a refused beforeWrite: nothing was written to y
    throw error;
  }
  w.finishOutput(y, size, yp);
  w.release(xp);
  return w.handled('normalizeBatch');
}

/**
 * `backwardCells` (fused): `x` and `dy` are placed once for the gradient sums and the input
 * gradient, with the folding in between, in JS: core's `cellInputGradientCoefficients`, and
 * `addCellParamSums` once the call is kept (a decline leaves the parameter sums to the fallback).
 */
function backwardCells(w: WasmKernels, call: BackwardCellsCall): boolean {
  const { x, dy, dx, cells } = call;
  const blocks = cells.blocks;
  if (blocks === null || cells.cells === 0 || !isFloat32RowMajor(x) || !isFloat32RowMajor(dy) || !isFloat32RowMajor(dx)) return w.decline();
  const slice = sliceSize(blocks);
  const size = blocks.A * slice;
  if (size === 0) return w.decline();
  w.assertUsable(x, 'x');
  w.assertUsable(dy, 'dy');
  w.assertUsable(dx, 'dx');
  if (shouldStream(w, [x, dy, dx])) return backwardCellsStreamed(w, call, blocks);
  const n = cells.cells;
  const arrays = w.carve([8 * n, 8 * n, 8 * n, 4 * n, 4 * n, 4 * n, 4 * n, 4 * n]);
  if (arrays === null) return w.decline();
  const xp = w.place(x, size);
  if (xp === null) return w.decline();
  const dp = w.place(dy, size);
  const op = dp === null ? null : w.placeOutput(dx, size);
  if (dp === null || op === null) {
    w.release(xp, dp);
    return w.decline();
  }
  try {
    const [pc64, ps, pt, pc, pl, pa, pb, pk] = arrays;
    const sumDy = backwardScratch.take(0, n);
    const sumDyCentered = backwardScratch.take(1, n);
    if (call.batchStats || cells.cellParam !== null) {
      const center = backwardScratch.take(2, n);
      for (let j = 0; j < n; j++) center[j] = call.center[cells.cellGroup[j]];
      w.putF64(pc64, center);
      for (let a = 0; a < blocks.A; a++) {
        const at = 4 * a * slice;
        const cell = 8 * a * blocks.C;
        w.run('bnGradientSums', [xp.ptr + at, dp.ptr + at, blocks.B, blocks.C, blocks.D, pc64 + cell, ps + cell, pt + cell], slice);
      }
      w.getF64(ps, sumDy);
      w.getF64(pt, sumDyCentered);
    }
    const { center, a: ca, b: cb, k: ck } = cellInputGradientCoefficients(call, sumDy, sumDyCentered, undefined, coefficientScratch);
    if (!fitsFloat32(ca, cb, ck) || !centersSplitFloat32(center)) {
      // Nothing was written to dx, nor to the parameter sums: the TypeScript kernels redo the
      // call with float64 coefficients (and add into the sums once).
      w.release(xp, dp, op);
      return w.decline();
    }
    addCellParamSums(call, sumDy, sumDyCentered);
    w.putCenter(pc, pl, center);
    w.putF32(pa, ca);
    w.putF32(pb, cb);
    w.putF32(pk, ck);
    for (let a = 0; a < blocks.A; a++) {
      const at = 4 * a * slice;
      const cell = 4 * a * blocks.C;
      w.run('bnInputGradient', [xp.ptr + at, dp.ptr + at, blocks.B, blocks.C, blocks.D, pc + cell, pl + cell, pa + cell, pb + cell, pk + cell, op.ptr + at], slice);
    }
  } catch (error) {
    w.release(xp, dp, op);
    throw error;
  }
  w.finishOutput(dx, size, op);
  w.release(xp, dp);
  return w.handled('backwardCells');
}
