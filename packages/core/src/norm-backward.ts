import { normalizeDoubleBackward } from './engine/double-backward.js';
import { normalizeBackward } from './engine/ops.js';
import type { NormPlan } from './engine/plan.js';
import type { StridedView } from './engine/view.js';
import { viewOf } from './engine/view.js';
import { checkNormSaved } from './saved.js';
import type { NormSaved } from './saved.js';
import type { Shape, Tensor } from './tensor.js';
import { dtypeOf, fromArray, packedTensors, zeros } from './tensor.js';
import type { ForwardSpec } from './validate.js';
import { checkBackward, checkDoubleBackward, float64Values, outputOf, paramValues } from './validate.js';
import { Float64Scratch } from './engine/scratch.js';

/** γ as float64 within one {@link normBackward} call (it reaches no caller). */
const backwardParamScratch = new Float64Scratch(1);

/**
 * What {@link normBackward} and {@link normDoubleBackward} need to know about a bound
 * normalizer whose forward saves a {@link NormSaved} and whose parameters are an optional
 * scale γ (`weight`) and shift β (`bias`) of one shape: batch, instance, group, layer and RMS
 * norm. Built once in the plugin's `bind`.
 */
export interface NormBackwardBinding {
  /** The plugin name and parameter shapes, as given to `checkForward`. */
  readonly spec: Pick<ForwardSpec, 'plugin' | 'paramShapes'>;
  /** The shape check of `x` (`null` when it fits, else what is wrong), applied to `saved.x`. */
  readonly fits: (shape: Shape) => string | null;
  /** The number of statistics groups for an input shape: the length of `saved.center` and `saved.invStd`. */
  readonly groupsOf: (shape: Shape) => number;
  /** The engine plan of an input shape (usually a `planCache`). */
  readonly plans: (shape: Shape) => NormPlan;
  /** The shape of γ and β, and of their gradients. */
  readonly paramShape: Shape;
  /** False for RMS norm (nothing subtracted: the uncentered formulas). */
  readonly centered: boolean;
  /**
   * True when the statistics are always the input's own (layer, group and RMS norm); false
   * when `saved.batchStats` says (batch and instance norm: running statistics in eval are
   * constants).
   */
  readonly alwaysBatchStats: boolean;
  /** The engine's view of a tensor of the input's shape (default `viewOf`; group norm splits the channel axis into (groups, channels per group)). */
  readonly view?: (t: Tensor) => StridedView;
}

/** The parameter gradients {@link normBackward} and {@link normDoubleBackward} return. */
export interface NormParamGrads {
  /** ∂L/∂γ, when the call's `params` has `weight`. */
  weight?: Tensor;
  /** ∂L/∂β, when the call's `params` has `bias`. */
  bias?: Tensor;
}

/**
 * The whole `backward` member of a normalizer described by a {@link NormBackwardBinding}:
 * checks `saved`, `dy`, `params` and `out` (core's one validation path), then runs the
 * engine's {@link normalizeBackward}:
 *
 * $$dx = s_g\Big(g - \tfrac{\kappa}{m}\textstyle\sum_g g - \hat x\,\tfrac1m \sum_g g\,\hat x\Big),\quad g = dy\,\gamma,$$
 *
 * ($`\kappa = 1`$ centered, 0 for RMS norm; $`dx = s_g\,g`$ when the statistics were
 * constants), with $`\partial L/\partial\gamma = \sum dy\,\hat x`$ and
 * $`\partial L/\partial\beta = \sum dy`$ for the parameters present.
 *
 * @param binding - what the plugin bound at creation
 * @param args - the backward arguments as handed in
 * @returns `dx` (written into `args.out` when given) and the gradients of the parameters present
 *   (with both γ and β, their tensors may be two halves of one new array: see `packedTensors`)
 * @throws NormkitError `E_STATE` for a `saved` that does not fit; `E_SHAPE` / `E_DTYPE` for a bad `dy`, parameter or `out`
 */
export function normBackward(
  binding: NormBackwardBinding,
  args: { readonly dy: unknown; readonly params: unknown; readonly saved: unknown; readonly out?: unknown },
): {
  /** ∂L/∂x, shaped and typed like x. */
  dx: Tensor;
  /** ∂L/∂γ and ∂L/∂β for the parameters present. */
  grads: NormParamGrads;
} {
  const saved = checkNormSaved(args.saved, binding.spec.plugin, binding.fits, binding.groupsOf);
  const { x } = saved;
  const { dy, params, out } = checkBackward(args, x, binding.spec);
  const view = binding.view ?? viewOf;
  const dtype = dtypeOf(x);
  const dx = outputOf(out, x.shape, dtype);
  const weight = paramValues(params.weight, backwardParamScratch, 0);
  const mode = { centered: binding.centered, batchStats: binding.alwaysBatchStats || saved.batchStats };
  const sums = normalizeBackward(view(x), view(dy), binding.plans(x.shape), saved, weight, mode, view(dx));
  const grads: NormParamGrads = {};
  if (sums !== null && params.weight !== undefined && params.bias !== undefined) {
    [grads.weight, grads.bias] = packedTensors([sums.sumDyXhat, sums.sumDy], binding.paramShape, dtype);
  } else if (sums !== null && params.weight !== undefined) {
    grads.weight = fromArray(sums.sumDyXhat, binding.paramShape, dtype);
  } else if (sums !== null && params.bias !== undefined) {
    grads.bias = fromArray(sums.sumDy, binding.paramShape, dtype);
  }
  return { dx, grads };
}

/**
 * The whole `doubleBackward` member of a normalizer described by a
 * {@link NormBackwardBinding}: the vector-Jacobian product of {@link normBackward} with the
 * cotangents `ddx` (of `dx`) and `dgrads` (of γ's and β's gradients), by the engine's
 * {@link normalizeDoubleBackward}. Returns ∂S/∂x, ∂S/∂dy and ∂S/∂γ; ∂S/∂β is zero (β does
 * not enter the backward pass).
 *
 * @param binding - what the plugin bound at creation
 * @param args - the arguments as handed in
 * @returns `dx` = ∂S/∂x, `ddy` = ∂S/∂dy, and the parameter gradients present
 * @throws NormkitError `E_STATE` for a `saved` or `dgrads` that does not fit; `E_SHAPE` / `E_DTYPE` for a bad tensor
 */
export function normDoubleBackward(
  binding: NormBackwardBinding,
  args: { readonly dy: unknown; readonly params: unknown; readonly saved: unknown; readonly ddx: unknown; readonly dgrads?: unknown },
): {
  /** ∂S/∂x. */
  dx: Tensor;
  /** ∂S/∂dy. */
  ddy: Tensor;
  /** ∂S/∂γ (and a zero ∂S/∂β) for the parameters present. */
  grads: NormParamGrads;
} {
  const saved = checkNormSaved(args.saved, binding.spec.plugin, binding.fits, binding.groupsOf);
  const { x } = saved;
  const { dy, params, ddx, dgrads } = checkDoubleBackward(args, x, binding.spec);
  const view = binding.view ?? viewOf;
  const dtype = dtypeOf(x);
  const dx = outputOf(undefined, x.shape, dtype);
  const ddy = outputOf(undefined, x.shape, dtype);
  const weight = params.weight === undefined ? null : float64Values(params.weight);
  const cotangents = {
    ddx: view(ddx),
    dgradWeight: dgrads.weight === undefined ? null : float64Values(dgrads.weight),
    dgradBias: dgrads.bias === undefined ? null : float64Values(dgrads.bias),
  };
  const mode = { centered: binding.centered, batchStats: binding.alwaysBatchStats || saved.batchStats };
  const weightGrad = normalizeDoubleBackward(view(x), view(dy), binding.plans(x.shape), saved, weight, cotangents, mode, view(dx), view(ddy));
  const grads: NormParamGrads = {};
  if (weightGrad !== null && params.weight !== undefined) grads.weight = fromArray(weightGrad, binding.paramShape, dtype);
  if (params.bias !== undefined) grads.bias = zeros(binding.paramShape, dtype);
  return { dx, ddy, grads };
}
