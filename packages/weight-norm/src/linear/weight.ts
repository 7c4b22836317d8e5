import { NormkitError, arrayTypeOf, assertTensorMap, dtypeOf, float64Values, rowMajorStrides, tensor, viewOf } from '@normkit/core';
import type { NormPlan, StridedView, Tensor, TensorMap } from '@normkit/core';
import type { SliceStatistics } from '../direction.js';
import { firstZeroSlice, slicePlan, sliceStatistics, weightNormForward } from '../direction.js';
import type { WeightNormLinearInputOptions, WeightNormLinearOptions } from './options.js';
import { resolveWeightNormLinearOptions } from './options.js';

/** The parameters of the weight-normalized dense layer: `v (out, in)`, `g (out)` and `bias (out)` when it has one. */
export type WeightNormLinearParams = TensorMap<'v' | 'g' | 'bias'>;

/**
 * The engine plan of the layer's weight norm: one slice per output unit (row of `v`).
 *
 * @param options - resolved options
 * @returns the plan over `(out, in)`, groups and `g` along axis 0
 */
export function rowPlan(options: WeightNormLinearOptions): NormPlan {
  return slicePlan([options.outFeatures, options.inFeatures], 0);
}

/**
 * `‖v‖` statistics per output unit (see `sliceStatistics`), checked.
 *
 * @param v - the direction `(out, in)`, any strides
 * @param plan - from {@link rowPlan}
 * @param options - resolved options (for eps)
 * @returns the statistics
 * @throws NormkitError `E_DEGENERATE` for a zero row of `v` without eps
 */
export function rowStatistics(v: Tensor, plan: NormPlan, options: WeightNormLinearOptions): SliceStatistics {
  const stats = sliceStatistics(viewOf(v), plan, options.eps ?? 0);
  const zero = firstZeroSlice(stats);
  if (zero >= 0) {
    throw new NormkitError(
      'E_DEGENERATE',
      `params.v: expected a non-zero norm for every output unit, got 0 for unit ${zero} (set the eps option to allow it)`,
      'params.v',
    );
  }
  return stats;
}

/**
 * The rows of `W = g·v/‖v‖` (or `v/‖v‖` when `g` is `null`), row-major `(out, in)`, written
 * by the engine's forward map into `out`.
 *
 * @param v - the direction `(out, in)`, any strides
 * @param plan - from {@link rowPlan}
 * @param stats - from {@link rowStatistics}
 * @param g - the magnitude per unit, or `null`
 * @param out - a row-major buffer of `out·in` values (either dtype)
 * @returns `out`
 */
export function weightRows<A extends Float32Array | Float64Array>(v: Tensor, plan: NormPlan, stats: SliceStatistics, g: Float64Array | null, out: A): A {
  const view: StridedView = { data: out, shape: plan.shape, strides: rowMajorStrides(plan.shape), offset: 0 };
  weightNormForward(viewOf(v), plan, stats, g, view);
  return out;
}

/**
 * The materialized weight `W = g·v/‖v‖` (one norm per output unit), `(out, in)`, in `v`'s dtype.
 *
 * @param params - `v` and `g` (a bias is ignored)
 * @param options - the layer's options
 * @returns a new row-major tensor $`W_{o,:} = g_o\,v_{o,:} / \lVert v_{o,:} \rVert`$
 * @throws NormkitError `E_SHAPE`/`E_DTYPE` for misshapen or non-float parameters, `E_STATE`
 *   for a missing `v` or `g`; `E_DEGENERATE` for a zero row of `v` without eps; `E_OPTION`
 *   for bad options
 */
export function materializeLinearWeight(params: WeightNormLinearParams, options: WeightNormLinearInputOptions): Tensor {
  const resolved = resolveWeightNormLinearOptions(options);
  const { inFeatures, outFeatures } = resolved;
  const { v, g } = assertTensorMap({ v: params.v, g: params.g }, { v: [outFeatures, inFeatures], g: [outFeatures] }, 'params');
  const plan = rowPlan(resolved);
  const stats = rowStatistics(v, plan, resolved);
  const out = weightRows(v, plan, stats, float64Values(g), new (arrayTypeOf(dtypeOf(v)))(outFeatures * inFeatures));
  return tensor(out, [outFeatures, inFeatures]);
}
