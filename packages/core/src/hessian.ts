import { NormkitError } from './errors.js';
import type { BoundNormalizer, Mode, NormalizerTypes, TensorMap } from './normalizer.js';
import type { Tensor } from './tensor.js';
import { assertTensor, dtypeOf, formatShape, fromArray, shapesEqual, toTypedArray } from './tensor.js';

/**
 * A scalar loss of a normalizer's output $`y`$, twice differentiable: what
 * {@link hessianVectorProduct} needs of it.
 */
export interface TwiceDifferentiableLoss {
  /**
   * The gradient $`\nabla L(y)`$.
   *
   * @param y - the output of the forward call
   * @returns a tensor shaped like `y`
   */
  gradient(y: Tensor): Tensor;
  /**
   * The Hessian of $`L`$ at $`y`$ times $`u`$, $`\nabla^2 L(y)\,u`$.
   *
   * @param y - the output of the forward call
   * @param u - a direction shaped like `y`
   * @returns a tensor shaped like `y`
   */
  hessianVector(y: Tensor, u: Tensor): Tensor;
}

/**
 * The loss $`L = \tfrac12 \sum (y - \mathrm{target})^2`$: gradient $`y - \mathrm{target}`$,
 * Hessian the identity.
 *
 * @param target - shaped like `y`
 * @returns the loss
 */
export function squaredErrorLoss(target: Tensor): TwiceDifferentiableLoss {
  const t = toTypedArray(assertTensor(target, 'target'));
  return {
    gradient(y) {
      if (!shapesEqual(y.shape, target.shape)) {
        throw new NormkitError('E_SHAPE', `target: expected the shape of y ${formatShape(y.shape)}, got ${formatShape(target.shape)}`, 'target');
      }
      const v = toTypedArray(y);
      return fromArray(v.map((yi, i) => yi - t[i]), y.shape, 'float64');
    },
    hessianVector: (_y, u) => u,
  };
}

/**
 * The linear loss $`L = \sum r \odot y`$: gradient $`r`$, Hessian zero. Its Hessian–vector
 * product through a normalizer is the second-order term alone,
 * $`\partial_{(x,\theta)}\langle r, J\,v\rangle`$.
 *
 * @param r - the weights, shaped like `y`
 * @returns the loss
 */
export function linearLoss(r: Tensor): TwiceDifferentiableLoss {
  assertTensor(r, 'r');
  return {
    gradient: () => r,
    hessianVector: (y) => fromArray(new Float64Array(y.size), y.shape, 'float64'),
  };
}

/** What {@link hessianVectorProduct} receives. */
export interface HessianVectorArgs<T extends NormalizerTypes> {
  /** The input at which the Hessian is taken. */
  readonly x: Tensor;
  /** The parameters at which the Hessian is taken. */
  readonly params: TensorMap<T['Params']>;
  /** The state the forward call receives (never changed; the next state is discarded). */
  readonly state: TensorMap<T['State']>;
  /** The mode of the forward call. */
  readonly mode: Mode;
  /** The scalar loss of `y`. */
  readonly loss: TwiceDifferentiableLoss;
  /** The direction $`v = (v_x, v_\theta)`$: `x` shaped like the input, `params` like the parameters (absent: zero). */
  readonly direction: {
    /** The direction's input part. */
    readonly x: Tensor;
    /** The direction's parameter parts (absent entries are zero). */
    readonly params?: TensorMap<T['Params']>;
  };
}

/** What {@link hessianVectorProduct} returns, each tensor in `x`'s dtype. */
export interface HessianVectorResult<T extends NormalizerTypes> {
  /** The input part of $`H v`$. */
  readonly x: Tensor;
  /** The parameter parts of $`H v`$. */
  readonly params: TensorMap<T['Params']>;
  /** The gradient of the loss at the point (a by-product: `x` and `params` parts). */
  readonly gradient: {
    /** ∂L/∂x. */
    readonly x: Tensor;
    /** ∂L/∂p for every parameter. */
    readonly params: TensorMap<T['Params']>;
  };
}

function sum(a: Tensor, b: Tensor | undefined, dtype: 'float32' | 'float64'): Tensor {
  const av = toTypedArray(a);
  const out = new Float64Array(av.length);
  if (b === undefined) out.set(av);
  else {
    const bv = toTypedArray(b);
    for (let i = 0; i < out.length; i++) out[i] = av[i] + bv[i];
  }
  return fromArray(out, a.shape, dtype);
}

/**
 * The Hessian–vector product $`H v`$ of a scalar loss through a normalizer,
 * $`H = \nabla^2_{(x,\theta)}\,L\big(y(x, \theta)\big)`$, exactly (no finite differences),
 * from one forward call, one `doubleBackward` and one `backward`:
 *
 * $$H v = \underbrace{\partial_{(x,\theta)} \big\langle v,\ J^\top \nabla L\big\rangle}_{\texttt{doubleBackward}(dy = \nabla L,\ \mathrm{ddx} = v_x,\ \mathrm{dgrads} = v_\theta)}
 *   \;+\; J^\top\,\nabla^2 L\,\underbrace{J v}_{\texttt{ddy}}$$
 *
 * The first term is the curvature of the normalizer (its second derivatives weighted by the
 * loss gradient); the second is the Gauss–Newton term. `ddy` of the same `doubleBackward`
 * call is the forward-mode JVP $`J v`$, so no separate forward-mode pass is needed.
 *
 * @param normalizer - a bound normalizer with the optional `doubleBackward` member
 * @param args - the point (`x`, `params`, `state`, `mode`), the loss and the direction
 * @returns $`H v`$ (input and parameter parts) and the loss gradient at the point
 * @throws NormkitError `E_PLUGIN` when the normalizer has no `doubleBackward`; `E_SHAPE` /
 *   `E_DTYPE` for a loss result or direction of the wrong shape; whatever forward, backward
 *   and doubleBackward throw for bad input
 * @example
 * ```ts
 * const bn = batchNorm.create({ numFeatures: 3 });
 * const { params, state } = bn.init('float64');
 * const hv = hessianVectorProduct(bn, {
 *   x, params, state, mode: 'train',
 *   loss: squaredErrorLoss(target),
 *   direction: { x: vx, params: { weight: vw } },
 * });
 * hv.x; hv.params.weight; hv.params.bias;
 * ```
 */
export function hessianVectorProduct<T extends NormalizerTypes>(normalizer: BoundNormalizer<T>, args: HessianVectorArgs<T>): HessianVectorResult<T> {
  if (typeof normalizer.doubleBackward !== 'function') {
    throw new NormkitError(
      'E_PLUGIN',
      `${normalizer.meta.name}: expected a normalizer with the optional doubleBackward member (second-order pass), got none`,
      'normalizer',
    );
  }
  const { x, params, state, mode, loss, direction } = args;
  const dtype = dtypeOf(assertTensor(x, 'x'));
  const forward = normalizer.forward({ x, params, state, mode });
  const y = forward.y;
  const checkLike = (t: unknown, name: string): Tensor => {
    const checked = assertTensor(t, name);
    if (!shapesEqual(checked.shape, y.shape)) {
      throw new NormkitError('E_SHAPE', `${name}: expected the shape of y ${formatShape(y.shape)}, got ${formatShape(checked.shape)}`, name);
    }
    return checked;
  };
  const dy = checkLike(loss.gradient(y), 'loss.gradient(y)');
  const second = normalizer.doubleBackward({ dy, params, saved: forward.saved, ddx: direction.x, ...(direction.params === undefined ? {} : { dgrads: direction.params }) });
  const curvature = checkLike(loss.hessianVector(y, second.ddy), 'loss.hessianVector(y, u)');
  const gaussNewton = normalizer.backward({ dy: curvature, params, saved: forward.saved });
  const gradient = normalizer.backward({ dy, params, saved: forward.saved });
  const hvParams: Record<string, Tensor> = {};
  const gnGrads = gaussNewton.grads as Record<string, Tensor | undefined>;
  for (const [name, g] of Object.entries(second.grads as Record<string, Tensor | undefined>)) {
    if (g !== undefined) hvParams[name] = sum(g, gnGrads[name], dtype);
  }
  return {
    x: sum(second.dx, gaussNewton.dx, dtype),
    params: hvParams as TensorMap<T['Params']>,
    gradient: { x: gradient.dx, params: gradient.grads },
  };
}
