import type { FloatArray, Shape, Tensor } from './tensor.js';
import { NormkitError } from './errors.js';
import { isRowMajor, normalizeAxis, sizeOf } from './tensor.js';
import { blockedMomentsKernel } from './blocked-moments.js';
import { blockedShape, forEachRun } from './layout.js';

/**
 * Per-group mean and **biased** variance of a tensor, with the number of values per group.
 *
 * `mean[g] = Σ x / count`, `variance[g] = Σ (x − mean[g])² / count`, over the
 * elements whose group index is `g`.
 */
export interface GroupStatistics {
  /** How many values each group has (the same for every group). */
  readonly count: number;
  /** Per-group mean, in float64. */
  readonly mean: Float64Array;
  /** Per-group biased variance, in float64. */
  readonly variance: Float64Array;
}

/**
 * Stable per-group mean and biased variance: the kernel, over a raw strided view.
 * For group $`g`$ with the $`n`$ elements $`x_i`$ whose group index is $`g`$:
 *
 * $$\mu_g = \tfrac1n \textstyle\sum_i x_i,\qquad \sigma_g^2 = \tfrac1n\Big(\textstyle\sum_i (x_i - \mu_g)^2 - \tfrac1n\big(\sum_i (x_i - \mu_g)\big)^2\Big)$$
 *
 * Two passes with float64 accumulators whatever the data's dtype; the second pass
 * subtracts `(Σ(x − mean))² / count`, which corrects the rounding of the mean
 * (never `E[x²] − E[x]²`, which cancels when |mean| ≫ std). Row-major contiguous
 * views with adjacent group axes take the blocked fast path ({@link blockedMomentsKernel}:
 * two passes per cache-sized chunk, chunks merged exactly, one read from memory); every
 * other view is walked run by run in memory order.
 *
 * @param data - the buffer
 * @param shape - the view's shape
 * @param strides - the view's strides
 * @param offset - the view's offset
 * @param groupAxes - ascending axes whose joint index is the group; the rest are reduced
 * @param mean - output, length = Π shape[groupAxes] (overwritten)
 * @param variance - output, same length (overwritten; biased)
 * @returns the count of values per group (0 for an empty view, with zero outputs)
 */
export function groupMomentsKernel(
  data: FloatArray,
  shape: Shape,
  strides: readonly number[],
  offset: number,
  groupAxes: readonly number[],
  mean: Float64Array,
  variance: Float64Array,
): number {
  const groups = mean.length;
  const count = groups === 0 ? 0 : sizeOf(shape) / groups;
  if (count === 0) {
    mean.fill(0);
    variance.fill(0);
    return 0;
  }
  const contiguous = isRowMajor(shape, strides);
  const layout = contiguous ? blockedShape(shape, groupAxes, offset) : null;
  if (layout !== null) {
    blockedMomentsKernel(data, offset, layout.outer, groups, layout.inner, mean, variance);
    return count;
  }
  // General strided path: two passes run by run in memory order.
  const drift = variance; // scratch for Σ(x − mean) in pass 2
  const squares = new Float64Array(groups);
  mean.fill(0);
  drift.fill(0);
  forEachRun(shape, [strides], [offset], groupAxes, (length, group, groupStep, pointers, steps) => {
    const step = steps[0];
    let p = pointers[0];
    if (groupStep === 0) {
      let sum = 0;
      for (let i = 0; i < length; i++, p += step) sum += data[p];
      mean[group] += sum;
    } else {
      for (let i = 0, g = group; i < length; i++, p += step, g += groupStep) mean[g] += data[p];
    }
  });
  for (let g = 0; g < groups; g++) mean[g] /= count;
  forEachRun(shape, [strides], [offset], groupAxes, (length, group, groupStep, pointers, steps) => {
    const step = steps[0];
    let p = pointers[0];
    if (groupStep === 0) {
      const m = mean[group];
      let sumD = 0;
      let sumD2 = 0;
      for (let i = 0; i < length; i++, p += step) {
        const d = data[p] - m;
        sumD += d;
        sumD2 += d * d;
      }
      drift[group] += sumD;
      squares[group] += sumD2;
    } else {
      for (let i = 0, g = group; i < length; i++, p += step, g += groupStep) {
        const d = data[p] - mean[g];
        drift[g] += d;
        squares[g] += d * d;
      }
    }
  });
  for (let g = 0; g < groups; g++) {
    const d = drift[g];
    variance[g] = Math.max(0, squares[g] - (d * d) / count) / count;
  }
  return count;
}

/**
 * Per-group mean and biased variance of a tensor (see {@link groupMomentsKernel}).
 *
 * @param x - any float tensor, any strides
 * @param groupAxes - ascending axes that index the groups; all other axes are reduced
 * @returns the statistics, with `mean` and `variance` laid out row-major over the group axes
 * @example
 * ```ts
 * // batch-norm statistics of an (N, C, H, W) tensor: one group per channel
 * const { mean, variance } = groupMoments(x, [1]);
 * ```
 */
export function groupMoments(x: Tensor, groupAxes: readonly number[]): GroupStatistics {
  const rank = x.shape.length;
  for (let j = 0; j < groupAxes.length; j++) {
    const axis = groupAxes[j];
    if (!Number.isInteger(axis) || axis < 0 || axis >= rank || (j > 0 && axis <= groupAxes[j - 1])) {
      throw new NormkitError(
        'E_OPTION',
        `groupAxes: expected ascending axes in [0, ${rank - 1}] for a tensor of rank ${rank}, got [${groupAxes.join(', ')}]`,
        'groupAxes',
      );
    }
  }
  let groups = 1;
  for (const axis of groupAxes) groups *= x.shape[axis];
  const mean = new Float64Array(groups);
  const variance = new Float64Array(groups);
  const count = groupMomentsKernel(x.data, x.shape, x.stride, x.offset, groupAxes, mean, variance);
  return { count, mean, variance };
}

/**
 * Batch-norm statistics: per channel, over every axis except `channelAxis`.
 *
 * @param x - a tensor of rank ≥ 1
 * @param channelAxis - the channel axis (non-negative)
 * @returns one mean and one biased variance per channel
 */
export function channelMoments(x: Tensor, channelAxis: number): GroupStatistics {
  return groupMoments(x, [normalizeAxis(channelAxis, x.shape.length, 'channelAxis')]);
}

/**
 * Layer-norm statistics: per leading index, over the trailing `trailingAxes` axes.
 * `mean` and `variance` are row-major over the leading axes.
 *
 * @param x - a tensor of rank ≥ trailingAxes
 * @param trailingAxes - how many trailing axes to reduce
 * @returns one mean and one biased variance per row
 */
export function rowMoments(x: Tensor, trailingAxes: number): GroupStatistics {
  const leading: number[] = [];
  for (let k = 0; k < x.shape.length - trailingAxes; k++) leading.push(k);
  return groupMoments(x, leading);
}
