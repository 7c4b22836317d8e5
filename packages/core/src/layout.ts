import type { Shape, Tensor } from './tensor.js';
import { isContiguous, sizeOf } from './tensor.js';

/**
 * A row-major contiguous tensor seen as three nested blocks `(outer, groups, inner)`:
 * element `(o, g, i)` sits at `offset + (o·groups + g)·inner + i`.
 *
 * Every normalizer's fast path is this one layout: batch norm on NCHW is
 * `(N, C, H·W)`, on channels-last data `(N·H·W, C, 1)`; layer norm is `(1, rows, features)`;
 * weight norm with `dim = 0` is `(1, out, in)`.
 */
export interface BlockedLayout {
  /** Product of the axes before the group axes. */
  readonly outer: number;
  /** Product of the group axes: the number of groups. */
  readonly groups: number;
  /** Product of the axes after the group axes. */
  readonly inner: number;
  /** Offset of element 0 in the buffer. */
  readonly offset: number;
}

/**
 * The {@link BlockedLayout} of `t` for the given group axes, or `null` when `t` is not
 * row-major contiguous or the group axes are not one ascending run of adjacent axes.
 *
 * @param t - the tensor
 * @param groupAxes - ascending axes whose joint index names the group (may be empty: one group)
 * @returns the layout, or `null` when there is none
 */
export function blockedLayout(t: Tensor, groupAxes: readonly number[]): BlockedLayout | null {
  if (!isContiguous(t)) return null;
  return blockedShape(t.shape, groupAxes, t.offset);
}

/**
 * The `(outer, groups, inner)` split of a shape for ascending adjacent group axes, or
 * `null` when the axes are not adjacent. Ignores strides: see {@link blockedLayout}.
 *
 * @param shape - the shape
 * @param groupAxes - ascending axes whose joint index names the group (empty: one group)
 * @param offset - copied into the result (default 0)
 * @returns the split, or `null` when `groupAxes` are not one run of adjacent axes
 */
export function blockedShape(shape: Shape, groupAxes: readonly number[], offset = 0): BlockedLayout | null {
  const rank = shape.length;
  if (groupAxes.length === 0) return { outer: 1, groups: 1, inner: sizeOf(shape), offset };
  const first = groupAxes[0];
  for (let j = 1; j < groupAxes.length; j++) if (groupAxes[j] !== first + j) return null;
  const last = groupAxes[groupAxes.length - 1];
  let outer = 1;
  let groups = 1;
  let inner = 1;
  for (let k = 0; k < first; k++) outer *= shape[k];
  for (let k = first; k <= last; k++) groups *= shape[k];
  for (let k = last + 1; k < rank; k++) inner *= shape[k];
  return { outer, groups, inner, offset };
}

/**
 * Called once per run of a strided walk: `length` elements along one axis.
 *
 * @param length - how many elements the run has
 * @param group - the group index of the run's first element
 * @param groupStep - how much the group index moves per element (0 when the run stays in one group)
 * @param pointers - per operand, the buffer index of the run's first element (scratch: read, don't keep)
 * @param steps - per operand, the buffer step between consecutive elements of the run
 */
export type RunVisitor = (
  length: number,
  group: number,
  groupStep: number,
  pointers: readonly number[],
  steps: readonly number[],
) => void;

/**
 * Walks every element of tensors of one shape (any strides), run by run, in the
 * memory order of the first operand: the innermost run is along the axis with the
 * smallest stride of operand 0, so the walk touches memory as sequentially as the view allows.
 *
 * This is the general strided path of every kernel: the visitor's inner loop is a plain
 * `for` over `length` elements with pointer increments, and the per-run call costs little
 * next to it. The group index is the row-major index over `groupAxes`.
 *
 * @param shape - the common shape
 * @param strides - per operand, its strides
 * @param offsets - per operand, its offset
 * @param groupAxes - ascending axes that form the group index (may be empty)
 * @param visit - called once per run
 */
export function forEachRun(
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  groupAxes: readonly number[],
  visit: RunVisitor,
): void {
  const rank = shape.length;
  const operandCount = strides.length;
  const size = sizeOf(shape);
  if (size === 0) return;
  const groupStride = new Array<number>(rank).fill(0);
  let groupSize = 1;
  for (let j = groupAxes.length - 1; j >= 0; j--) {
    groupStride[groupAxes[j]] = groupSize;
    groupSize *= shape[groupAxes[j]];
  }
  const lead = strides[0];
  const axes: number[] = [];
  for (let k = 0; k < rank; k++) if (shape[k] > 1) axes.push(k);
  axes.sort((a, b) => Math.abs(lead[b]) - Math.abs(lead[a]) || a - b);
  const pointers = offsets.slice();
  const runPointers = offsets.slice();
  if (axes.length === 0) {
    visit(1, 0, 0, runPointers, new Array<number>(operandCount).fill(0));
    return;
  }
  const innerAxis = axes[axes.length - 1];
  const outerAxes = axes.slice(0, -1);
  const length = shape[innerAxis];
  const steps = strides.map((s) => s[innerAxis]);
  const groupStep = groupStride[innerAxis];
  const counters = new Array<number>(outerAxes.length).fill(0);
  const runs = size / length;
  let group = 0;
  for (let run = 0; run < runs; run++) {
    for (let o = 0; o < operandCount; o++) runPointers[o] = pointers[o];
    visit(length, group, groupStep, runPointers, steps);
    for (let j = outerAxes.length - 1; j >= 0; j--) {
      const axis = outerAxes[j];
      group += groupStride[axis];
      for (let o = 0; o < operandCount; o++) pointers[o] += strides[o][axis];
      if (++counters[j] < shape[axis]) break;
      group -= groupStride[axis] * shape[axis];
      for (let o = 0; o < operandCount; o++) pointers[o] -= strides[o][axis] * shape[axis];
      counters[j] = 0;
    }
  }
}

/**
 * The axes of a tensor of `rank` that are not in `keep`, ascending: the axes a
 * normalizer reduces over.
 *
 * @param rank - the tensor's rank
 * @param keep - the axes to leave out (non-negative)
 * @returns the other axes of `[0, rank)`, ascending
 */
export function complementAxes(rank: number, keep: readonly number[]): number[] {
  const axes: number[] = [];
  for (let k = 0; k < rank; k++) if (!keep.includes(k)) axes.push(k);
  return axes;
}
