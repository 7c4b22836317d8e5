import { NormkitError } from './errors.js';
import { batchStatistics } from './engine/ops.js';
import { planNormalization } from './engine/plan.js';
import { viewOf } from './engine/view.js';
import type { Tensor } from './tensor.js';
import { assertTensor } from './tensor.js';

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
 * Per-group mean and biased variance of a tensor, by the engine's `moments` kernel (float64
 * accumulators, never $`E[x^2] - E[x]^2`$ in float32, and the float64 one-pass forms only with an
 * exact fallback; see `momentsKernel` and `@normkit/wasm`'s *Numerics*):
 *
 * $$\mu_g = \tfrac1m \textstyle\sum x,\qquad \sigma_g^2 = \tfrac1m \sum (x - \mu_g)^2$$
 *
 * over the $`m`$ elements whose joint index over `groupAxes` is $`g`$.
 *
 * @param x - any float tensor, any strides
 * @param groupAxes - ascending axes that index the groups; all other axes are reduced
 * @returns the statistics, with `mean` and `variance` laid out row-major over the group axes
 *   (they may be views into one new array: read their bytes through `byteOffset`/`byteLength`)
 * @throws NormkitError `E_OPTION` for axes that are not ascending axes of `x`
 * @example
 * ```ts
 * // batch-norm statistics of an (N, C, H, W) tensor: one group per channel
 * const { mean, variance } = groupMoments(x, [1]);
 * ```
 */
export function groupMoments(x: Tensor, groupAxes: readonly number[]): GroupStatistics {
  const input = assertTensor(x, 'x');
  const rank = input.shape.length;
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
  const plan = planNormalization(input.shape, groupAxes, null);
  const { center, variance } = batchStatistics(viewOf(input), plan, true, 0);
  return { count: plan.count, mean: center, variance };
}
