import { toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { crossEntropy } from './layers/softmax-cross-entropy.js';
import type { Mlp } from './model.js';
import { Rng, mixSeed } from './random.js';
import { float64Point, lossAndGradient, shiftedPoint } from './second-order.js';

/** What one hidden block looked like at one step (before the update of that step). */
export interface BlockTrace {
  /** RMS of the linear layer's output (the pre-activation before any normalization). */
  readonly preRms: number;
  /** RMS of the ReLU's input (the normalized pre-activation; the linear output without a norm). */
  readonly reluInRms: number;
  /**
   * The share of the ReLU input's second moment that varies across the batch,
   * `mean_j var_i(u_ij) / mean_ij u_ij²`: 1 when every unit carries only input-dependent
   * signal, 0 when the block's output is the same for every sample.
   */
  readonly inputShare: number;
  /** Fraction of ReLU outputs that are positive. */
  readonly active: number;
  /** Fraction of units with no positive output on the whole batch. */
  readonly deadUnits: number;
  /** ‖W‖_F of the linear layer's effective weight (for weight norm ‖g‖₂, since rows of v/‖v‖ are unit). */
  readonly weightNorm: number;
  /** ‖b‖₂ of the linear layer's bias (0 without one). */
  readonly biasNorm: number;
  /** ‖∂L/∂θ‖ over the linear layer's parameters (W and b; v, g and b for weight norm). */
  readonly gradNorm: number;
}

/** One traced step. */
export interface StepTrace {
  readonly step: number;
  readonly loss: number;
  /** RMS of the logits. */
  readonly logitRms: number;
  readonly blocks: BlockTrace[];
}

const rms = (v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s / v.length);
};

const norm2 = (t: Tensor | undefined): number => (t === undefined ? 0 : Math.sqrt(Array.from(toTypedArray(t)).reduce((a, b) => a + b * b, 0)));

/**
 * The per-block trace of the step just computed: `activations[k]` is layer k's output of the
 * forward pass, and the layers hold the gradients of the backward pass.
 */
export function traceStep(model: Mlp, step: number, loss: number, activations: readonly Tensor[]): StepTrace {
  const blocks = model.blocks.map((b): BlockTrace => {
    const pre = toTypedArray(activations[b.linear]);
    const u = toTypedArray(activations[b.norm ?? b.linear]);
    const out = toTypedArray(activations[b.relu]);
    const [n, h] = activations[b.relu].shape;
    let second = 0;
    let varSum = 0;
    let dead = 0;
    let active = 0;
    for (let j = 0; j < h; j++) {
      let m = 0;
      let any = false;
      for (let i = 0; i < n; i++) {
        m += u[i * h + j];
        second += u[i * h + j] ** 2;
        if (out[i * h + j] > 0) {
          any = true;
          active++;
        }
      }
      m /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (u[i * h + j] - m) ** 2;
      varSum += v / n;
      if (!any) dead++;
    }
    const linear = model.layers[b.linear];
    const params = linear.params as Record<string, Tensor | undefined>;
    const grads = linear.grads as Record<string, Tensor | undefined>;
    const isWeightNorm = params.g !== undefined;
    let gradSq = 0;
    for (const g of Object.values(grads)) gradSq += norm2(g) ** 2;
    return {
      preRms: rms(pre),
      reluInRms: rms(u),
      inputShare: second > 0 ? varSum / (second / n) : 0,
      active: active / (n * h),
      deadUnits: dead / h,
      weightNorm: norm2(isWeightNorm ? params.g : params.weight),
      biasNorm: norm2(params.bias),
      gradNorm: Math.sqrt(gradSq),
    };
  });
  return { step, loss, logitRms: rms(toTypedArray(activations[activations.length - 1])), blocks };
}

/** A finite-difference check of the whole network's gradient at one point of training. */
export interface GradientCheck {
  readonly step: number;
  /** ‖∇L‖ (float64, train mode, this step's batch). */
  readonly gradNorm: number;
  /** The directional derivative ∇L·d along a seeded random unit direction d. */
  readonly analytic: number;
  /** (L(θ + εd) − L(θ − εd)) / 2ε. */
  readonly numeric: number;
  readonly epsilon: number;
  /** |analytic − numeric| / max(|analytic|, |numeric|, 1e-12). */
  readonly relativeError: number;
  /**
   * ‖g32 − g64‖ / ‖g64‖: the float32 gradient training uses (normkit's float32 kernels,
   * WebAssembly where installed) against the float64 one at the same point.
   */
  readonly float32Difference: number;
}

/**
 * Checks the network's backward pass where training is: float64 copies of the current
 * parameters, this step's batch, train mode (the running statistics are not touched), the
 * analytic directional derivative against central differences of the loss. An error near
 * 1e-7 or below says the backward pass is the derivative of the forward pass; a small
 * {@link GradientCheck.float32Difference} says the float32 gradient the optimizer gets is
 * that derivative too. Whatever goes wrong in training is then not a wrong gradient.
 */
export function checkGradientAt(model: Mlp, x: Tensor, labels: ArrayLike<number>, step: number, seed: number, epsilon = 1e-5): GradientCheck {
  const point = float64Point(model);
  const base = lossAndGradient(model, point, x, labels);
  // The gradient as training computes it (the model's dtype), without keeping its state update.
  const snap = model.snapshot();
  model.zeroGrad();
  model.backward(crossEntropy(model.forward(x), labels, model.classes).dLogits);
  const trained = model.flatGrad();
  model.restore(snap);
  model.zeroGrad();
  let diff = 0;
  let size = 0;
  for (let i = 0; i < trained.length; i++) {
    diff += (trained[i] - base.gradient[i]) ** 2;
    size += base.gradient[i] ** 2;
  }
  const rng = new Rng(mixSeed(seed, step, 0x6763));
  const d = new Float64Array(base.gradient.length).map(() => rng.normal());
  const dn = Math.sqrt(d.reduce((a, b) => a + b * b, 0));
  for (let i = 0; i < d.length; i++) d[i] /= dn;
  let analytic = 0;
  for (let i = 0; i < d.length; i++) analytic += base.gradient[i] * d[i];
  const plus = lossAndGradient(model, shiftedPoint(point, epsilon, d), x, labels).loss;
  const minus = lossAndGradient(model, shiftedPoint(point, -epsilon, d), x, labels).loss;
  const numeric = (plus - minus) / (2 * epsilon);
  return {
    step,
    gradNorm: Math.sqrt(base.gradient.reduce((a, b) => a + b * b, 0)),
    analytic,
    numeric,
    epsilon,
    relativeError: Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-12),
    float32Difference: size > 0 ? Math.sqrt(diff / size) : 0,
  };
}
