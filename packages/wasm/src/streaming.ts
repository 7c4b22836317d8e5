import type { Blocks, StridedView } from '@normkit/core';
import type { WasmKernels } from './backend.js';

/**
 * Most float32 values a staged piece holds (128 KiB per staging buffer). A piece is copied
 * into wasm memory, run, and (an output) copied back while it is still in cache, so a call
 * on JS-heap tensors reads and writes main memory about as often as a call on tensors that
 * live in wasm memory — instead of copying the whole input in and the whole output out.
 */
export const PIECE_LIMIT = 32768;

/**
 * One contiguous piece of a cells block `(A, B, C, D)` that the cells kernels can run on as
 * their own `(outer, channels, inner)` block: `outer` rows `b` of slice `a`, channels
 * `c0 … c0 + channels − 1`, inner positions `d0 … d0 + inner − 1`. When `outer > 1` the piece
 * holds whole rows (`channels = C`, `inner = D`); when `channels > 1`, whole runs (`inner = D`).
 */
export interface CellPiece {
  /** Index of its first element in the block (row-major). */
  start: number;
  /** Its number of elements, `outer · channels · inner`. */
  length: number;
  /** The slice `a` it belongs to. */
  a: number;
  outer: number;
  c0: number;
  channels: number;
  inner: number;
}

/**
 * Splits a cells block into pieces of at most `limit` elements (a single run longer than `limit`
 * is split along `D`), in memory order, and calls `visit` with each. The piece object is reused
 * between calls.
 *
 * @param blocks - the block
 * @param limit - the most elements per piece (≥ 1)
 * @param visit - called once per piece, in memory order
 */
export function forEachCellPiece(blocks: Blocks, limit: number, visit: (piece: CellPiece) => void): void {
  const { A, B, C, D } = blocks;
  const row = C * D;
  const piece: CellPiece = { start: 0, length: 0, a: 0, outer: 0, c0: 0, channels: 0, inner: 0 };
  for (let a = 0; a < A; a++) {
    piece.a = a;
    const sliceStart = a * B * row;
    if (row <= limit) {
      const rowsPer = Math.floor(limit / row);
      for (let b = 0; b < B; b += rowsPer) {
        piece.outer = Math.min(rowsPer, B - b);
        piece.c0 = 0;
        piece.channels = C;
        piece.inner = D;
        piece.start = sliceStart + b * row;
        piece.length = piece.outer * row;
        visit(piece);
      }
    } else if (D <= limit) {
      const channelsPer = Math.floor(limit / D);
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c += channelsPer) {
          piece.outer = 1;
          piece.c0 = c;
          piece.channels = Math.min(channelsPer, C - c);
          piece.inner = D;
          piece.start = sliceStart + b * row + c * D;
          piece.length = piece.channels * D;
          visit(piece);
        }
      }
    } else {
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          for (let d = 0; d < D; d += limit) {
            piece.outer = 1;
            piece.c0 = c;
            piece.channels = 1;
            piece.inner = Math.min(limit, D - d);
            piece.start = sliceStart + b * row + c * D + d;
            piece.length = piece.inner;
            visit(piece);
          }
        }
      }
    }
  }
}

/**
 * Where a row-major float32 operand's piece is, for one streamed call: tensors that live in
 * the backend's wasm memory are used in place; JS-heap tensors go through a staging buffer.
 */
export class Staged {
  /** Byte pointer of element 0 when the tensor lives in wasm memory, else −1. */
  private readonly base: number;
  /** The staging buffer (bytes), or 0 when in place. */
  readonly stage: number;

  private constructor(
    private readonly view: StridedView,
    base: number,
    stage: number,
  ) {
    this.base = base;
    this.stage = stage;
  }

  /**
   * Stages each view: in place when it lives in the pool, else a buffer of `limit` floats.
   *
   * @returns the staged operands, or `null` (nothing allocated) when the pool cannot hold the buffers
   */
  static all(w: WasmKernels, views: readonly StridedView[], limit: number): Staged[] | null {
    const out: Staged[] = [];
    for (const view of views) {
      if (view.data.buffer === w.pool.buffer) {
        out.push(new Staged(view, view.data.byteOffset + 4 * view.offset, 0));
        continue;
      }
      const stage = w.pool.allocateRaw(4 * limit);
      if (stage === null) {
        Staged.release(w, out);
        return null;
      }
      out.push(new Staged(view, -1, stage));
    }
    return out;
  }

  /** Frees the staging buffers. */
  static release(w: WasmKernels, staged: readonly Staged[]): void {
    for (const s of staged) if (s.stage !== 0) w.pool.freeRaw(s.stage);
  }

  /** True when some operand goes through a staging buffer. */
  static anyStaged(staged: readonly Staged[]): boolean {
    for (const s of staged) if (s.stage !== 0) return true;
    return false;
  }

  /** Byte pointer of the input piece `[start, start + length)` in wasm memory (copied in when staged). */
  input(w: WasmKernels, start: number, length: number): number {
    if (this.stage === 0) return this.base + 4 * start;
    const v = this.view;
    w.pool.f32.set((v.data as Float32Array).subarray(v.offset + start, v.offset + start + length), this.stage >> 2);
    return this.stage;
  }

  /** Byte pointer where the output piece is to be written in wasm memory. */
  output(start: number): number {
    return this.stage === 0 ? this.base + 4 * start : this.stage;
  }

  /** Copies a written output piece back to the JS-heap tensor (nothing when in place). */
  finish(w: WasmKernels, start: number, length: number): void {
    if (this.stage === 0) return;
    const v = this.view;
    const from = this.stage >> 2;
    v.data.set(w.pool.f32.subarray(from, from + length), v.offset + start);
  }
}
