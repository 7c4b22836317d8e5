import type { Shape } from '@normkit/core';
import { rowMajorStrides } from '@normkit/core';

/**
 * The strides under which a row-major vector of `Π shape[leadingRank..]` per-feature
 * values (a compacted `weight` or `bias`) is read as if broadcast to `shape`:
 * 0 along the leading axes, row-major along the normalized ones.
 *
 * @param shape - the input's shape
 * @param leadingRank - how many leading (row-indexing) axes it has
 * @returns one stride per axis
 */
export function featureBroadcastStrides(shape: Shape, leadingRank: number): number[] {
  const strides = rowMajorStrides(shape);
  for (let axis = 0; axis < leadingRank; axis++) strides[axis] = 0;
  return strides;
}

/**
 * The leading axes `[0, 1, …, leadingRank − 1]`: the axes whose joint row-major
 * index is the row (the group index of core's `forEachRun` and `groupMomentsKernel`).
 *
 * @param leadingRank - how many leading axes
 */
export function leadingAxes(leadingRank: number): number[] {
  const axes = new Array<number>(leadingRank);
  for (let axis = 0; axis < leadingRank; axis++) axes[axis] = axis;
  return axes;
}
