import type { Shape } from '../tensor.js';
import { sizeOf } from '../tensor.js';

/**
 * Called once per run of a strided walk: `length` consecutive positions along one axis.
 *
 * @param length - how many positions the run has
 * @param pointers - per operand, its index at the run's first position (scratch: read, don't keep)
 * @param steps - per operand, how much its index moves from one position of the run to the next
 */
export type RunVisitor = (length: number, pointers: readonly number[], steps: readonly number[]) => void;

/**
 * Walks every position of a shape, run by run, carrying one index per operand: a buffer
 * index for a tensor (its strides and offset), or a flat group / parameter / cell index
 * (an {@link IndexMap}'s strides and offset 0). The innermost run is along the axis where
 * operand 0 has its smallest |stride|, and the outer axes follow operand 0's memory order, so
 * the walk touches the first operand's memory as sequentially as the view allows.
 *
 * This is the general strided path of every engine kernel: the visitor's inner loop is a
 * plain `for` over `length` positions with pointer increments, and the per-run call costs
 * little next to it.
 *
 * @param shape - the common shape
 * @param strides - per operand, one stride per axis
 * @param offsets - per operand, the index at position (0, …, 0)
 * @param visit - called once per run
 */
export function walkRuns(shape: Shape, strides: readonly (readonly number[])[], offsets: readonly number[], visit: RunVisitor): void {
  const rank = shape.length;
  const operands = strides.length;
  const size = sizeOf(shape);
  if (size === 0) return;
  const lead = strides[0];
  const axes: number[] = [];
  for (let k = 0; k < rank; k++) if (shape[k] > 1) axes.push(k);
  axes.sort((a, b) => Math.abs(lead[b]) - Math.abs(lead[a]) || a - b);
  const pointers = offsets.slice();
  const runPointers = offsets.slice();
  if (axes.length === 0) {
    visit(1, runPointers, new Array<number>(operands).fill(0));
    return;
  }
  const innerAxis = axes[axes.length - 1];
  const outerAxes = axes.slice(0, -1);
  const length = shape[innerAxis];
  const steps = strides.map((s) => s[innerAxis]);
  const counters = new Array<number>(outerAxes.length).fill(0);
  const runs = size / length;
  for (let run = 0; run < runs; run++) {
    for (let o = 0; o < operands; o++) runPointers[o] = pointers[o];
    visit(length, runPointers, steps);
    for (let j = outerAxes.length - 1; j >= 0; j--) {
      const axis = outerAxes[j];
      for (let o = 0; o < operands; o++) pointers[o] += strides[o][axis];
      if (++counters[j] < shape[axis]) break;
      for (let o = 0; o < operands; o++) pointers[o] -= strides[o][axis] * shape[axis];
      counters[j] = 0;
    }
  }
}
