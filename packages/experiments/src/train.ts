import { tensor } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import type { Dataset } from './data.js';
import { PIXELS } from './data.js';
import { checkGradientAt, traceStep } from './diagnose.js';
import type { GradientCheck, StepTrace } from './diagnose.js';
import { countCorrect, crossEntropy } from './layers/softmax-cross-entropy.js';
import { Mlp } from './model.js';
import type { MlpConfig, Variant } from './model.js';
import type { Network } from './network.js';
import { SgdMomentum } from './optim.js';
import { preciseBnCurve } from './precise-bn.js';
import type { PreciseBnResult } from './precise-bn.js';
import { Rng, mixSeed, permutation } from './random.js';
import { topHessianEigenvalue } from './second-order.js';
import type { EigenEstimate } from './second-order.js';

/** Everything one training run needs besides the data. */
export interface RunConfig {
  readonly variant: Variant;
  readonly lr: number;
  readonly momentum: number;
  readonly steps: number;
  readonly batchSize: number;
  /** Evaluate on the test set every this many steps (and at the end). */
  readonly evalEvery: number;
  /** Probe the landscape every this many steps (0: never). */
  readonly landscapeEvery: number;
  /** The step sizes η of the landscape probe. */
  readonly landscapeEtas: readonly number[];
  readonly model: MlpConfig;
  /** The seed of this run (from the configuration's seed list): weights, batch order, noise. */
  readonly seed: number;
  /** Seed of the batch order (the same for every variant). */
  readonly dataSeed: number;
  /** Record the per-block trace ({@link StepTrace}) for the first this many steps (0: none). */
  readonly traceSteps: number;
  /** Check the gradient by finite differences (float64) at these steps. */
  readonly gradCheckSteps: readonly number[];
  /** Top Hessian eigenvalue every `every` steps (and at the end), or null. */
  readonly curvature: { readonly every: number; readonly maxIterations: number; readonly tolerance: number } | null;
  /** PreciseBN after training (batch-norm variants), or null. */
  readonly preciseBn: { readonly ks: readonly number[]; readonly batchSize: number } | null;
}

/** The top Hessian eigenvalue of the batch loss at one step (power iteration on exact H·v). */
export interface CurvaturePoint extends EigenEstimate {
  readonly step: number;
}

/** One test-set evaluation. */
export interface EvalPoint {
  readonly step: number;
  readonly testAccuracy: number;
  /** null when the loss is not finite (a diverged network). */
  readonly testLoss: number | null;
  /** Mean training loss over the steps since the previous evaluation (null if any was not finite). */
  readonly trainLoss: number | null;
}

/** One landscape probe (Santurkar et al. 2018, Fig. 4) at a point θ of training. */
export interface LandscapePoint {
  readonly step: number;
  /** ‖∇L(θ)‖. */
  readonly gradNorm: number;
  /** L(θ). */
  readonly loss: number;
  readonly etas: readonly number[];
  /** L(θ − η∇L(θ)) per η (null: not finite). */
  readonly losses: readonly (number | null)[];
  /** ‖∇L(θ) − ∇L(θ − η∇L(θ))‖ per η (null: not finite). */
  readonly gradDiffs: readonly (number | null)[];
  /** min and max of L over {θ} ∪ {θ − η∇L}: the loss variation. */
  readonly lossMin: number | null;
  readonly lossMax: number | null;
  /** min and max of the gradient differences: the gradient predictiveness. */
  readonly gradDiffMin: number | null;
  readonly gradDiffMax: number | null;
  /** max_η ‖∇L(θ) − ∇L(θ')‖ / ‖θ − θ'‖ with ‖θ − θ'‖ = η‖∇L(θ)‖: the effective β-smoothness. */
  readonly beta: number | null;
}

/** What one run gives. */
export interface RunResult {
  readonly variant: Variant;
  readonly lr: number;
  readonly seed: number;
  /** The training loss of every step (null from divergence on). */
  readonly trainLoss: (number | null)[];
  readonly evals: EvalPoint[];
  readonly finalTestAccuracy: number;
  readonly bestTestAccuracy: number;
  /** The first step whose loss was not finite, or null. Training stops there. */
  readonly divergedAtStep: number | null;
  readonly landscape: LandscapePoint[] | null;
  /** The per-block trace of the first steps, or null. */
  readonly trace: StepTrace[] | null;
  readonly gradChecks: GradientCheck[];
  readonly curvature: CurvaturePoint[] | null;
  readonly preciseBn: PreciseBnResult | null;
  readonly seconds: number;
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Rows `order[start … start + size)` (wrapping) of a dataset as a batch. */
export function batchAt(data: Dataset, order: Uint32Array, start: number, size: number, shape: InputShape = flatImages): { x: Tensor; labels: Uint8Array } {
  const x = new Float32Array(size * PIXELS);
  const labels = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const r = order[(start + i) % order.length];
    x.set(data.images.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS);
    labels[i] = data.labels[r];
  }
  return { x: tensor(x, shape(size)), labels };
}

/** The input shape of n images for a network: `(n, 784)` for the MLP, `(n, 1, 28, 28)` for the CNN. */
export type InputShape = (n: number) => number[];

/** The MLP's input shape. */
export const flatImages: InputShape = (n) => [n, PIXELS];

/** Test accuracy and mean loss, in eval mode (running statistics, no noise), 500 rows at a time. */
export function evaluate(model: Network, data: Dataset, shape: InputShape = flatImages): { accuracy: number; loss: number } {
  model.eval();
  let correct = 0;
  let loss = 0;
  for (let s = 0; s < data.count; s += 500) {
    const n = Math.min(500, data.count - s);
    const x = tensor(data.images.slice(s * PIXELS, (s + n) * PIXELS), shape(n));
    const labels = data.labels.subarray(s, s + n);
    const logits = model.forward(x);
    correct += countCorrect(logits, labels);
    loss += crossEntropy(logits, labels, model.classes).loss * n;
  }
  model.train();
  return { accuracy: correct / data.count, loss: loss / data.count };
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/**
 * The landscape probe at the current parameters on one batch: the gradient g = ∇L(θ),
 * then, for every η, the loss and the gradient at θ − η·g. Train mode throughout (batch
 * statistics; the noise of the current step for noisy batch norm); the parameters, the
 * running statistics and the gradients are put back afterwards.
 */
export function probeLandscape(model: Network, x: Tensor, labels: Uint8Array, etas: readonly number[], step: number): LandscapePoint {
  const snap = model.snapshot();
  const lossAndGrad = (): { loss: number; grad: Float64Array } => {
    model.restoreState(snap.state);
    model.zeroGrad();
    const r = crossEntropy(model.forward(x), labels, model.classes);
    model.backward(r.dLogits);
    return { loss: r.loss, grad: model.flatGrad() };
  };
  const theta = model.flatParams();
  const base = lossAndGrad();
  const gradNorm = norm(base.grad);
  const losses: (number | null)[] = [];
  const gradDiffs: (number | null)[] = [];
  let beta: number | null = null;
  for (const eta of etas) {
    model.setShifted(theta, -eta, base.grad);
    const at = lossAndGrad();
    const diff = distance(base.grad, at.grad);
    losses.push(finite(at.loss));
    gradDiffs.push(finite(diff));
    const b = diff / (eta * gradNorm);
    if (Number.isFinite(b)) beta = Math.max(beta ?? 0, b);
  }
  model.restore(snap);
  model.zeroGrad();
  const lossSet = [base.loss, ...losses].filter((v): v is number => v !== null && Number.isFinite(v));
  const diffSet = gradDiffs.filter((v): v is number => v !== null);
  return {
    step,
    gradNorm,
    loss: base.loss,
    etas: [...etas],
    losses,
    gradDiffs,
    lossMin: lossSet.length > 0 ? Math.min(...lossSet) : null,
    lossMax: lossSet.length > 0 ? Math.max(...lossSet) : null,
    gradDiffMin: diffSet.length > 0 ? Math.min(...diffSet) : null,
    gradDiffMax: diffSet.length > 0 ? Math.max(...diffSet) : null,
    beta,
  };
}

/**
 * Trains one variant at one learning rate and seed: SGD with momentum on shuffled
 * mini-batches (the same batch order for every variant of a seed), evaluating on the test
 * set and probing the landscape and the curvature at regular steps, tracing the blocks over
 * the first steps, checking the gradient where asked, and PreciseBN at the end. A
 * non-finite loss stops the run (it is recorded as diverged).
 *
 * @param onStep - called after every step with the number of steps done (for a progress bar)
 */
export function trainRun(config: RunConfig, data: { train: Dataset; test: Dataset }, onStep: (done: number) => void = () => {}): RunResult {
  const started = performance.now();
  const model = new Mlp(config.variant, config.model);
  const order = permutation(data.train.count, new Rng(mixSeed(config.dataSeed, 0x6261, 0)));
  // Data-dependent init (weight norm only) on the first batch of the order.
  model.initFromBatch(batchAt(data.train, order, 0, config.batchSize).x);
  const optimizer = new SgdMomentum(model.parameters(), { lr: config.lr, momentum: config.momentum });
  const trainLoss: (number | null)[] = [];
  const evals: EvalPoint[] = [];
  const landscape: LandscapePoint[] = [];
  const trace: StepTrace[] = [];
  const gradChecks: GradientCheck[] = [];
  const curvature: CurvaturePoint[] = [];
  let divergedAtStep: number | null = null;
  let sinceEval: number[] = [];
  const record = (step: number): void => {
    const e = evaluate(model, data.test);
    const ok = sinceEval.length > 0 && sinceEval.every(Number.isFinite);
    evals.push({ step, testAccuracy: e.accuracy, testLoss: finite(e.loss), trainLoss: ok ? sinceEval.reduce((a, b) => a + b, 0) / sinceEval.length : null });
    sinceEval = [];
  };
  const probeCurvature = (step: number, x: Tensor, labels: Uint8Array): void => {
    if (config.curvature === null) return;
    const estimate = topHessianEigenvalue(model, x, labels, { maxIterations: config.curvature.maxIterations, tolerance: config.curvature.tolerance, seed: mixSeed(config.seed, step) });
    curvature.push({ step, ...estimate });
  };
  let perm = order;
  let epoch = 0;
  let cursor = 0;
  let last: { x: Tensor; labels: Uint8Array } | null = null;
  for (let step = 0; step < config.steps; step++) {
    if (cursor + config.batchSize > data.train.count) {
      // A new epoch: a fresh seeded order.
      epoch++;
      perm = permutation(data.train.count, new Rng(mixSeed(config.dataSeed, 0x6261, epoch)));
      cursor = 0;
    }
    const start = cursor;
    cursor += config.batchSize;
    const { x, labels } = batchAt(data.train, perm, start, config.batchSize);
    last = { x, labels };
    if (config.landscapeEvery > 0 && step % config.landscapeEvery === 0) {
      landscape.push(probeLandscape(model, x, labels, config.landscapeEtas, step));
    }
    if (config.curvature !== null && step % config.curvature.every === 0) probeCurvature(step, x, labels);
    if (config.gradCheckSteps.includes(step)) gradChecks.push(checkGradientAt(model, x, labels, step, config.seed));
    model.zeroGrad();
    const tracing = step < config.traceSteps;
    const outputs = tracing ? model.forwardKeep(x) : [model.forward(x)];
    const r = crossEntropy(outputs[outputs.length - 1], labels, config.model.classes);
    if (!Number.isFinite(r.loss)) {
      divergedAtStep = step;
      trainLoss.push(null);
      onStep(config.steps);
      break;
    }
    model.backward(r.dLogits);
    if (tracing) trace.push(traceStep(model, step, r.loss, outputs));
    optimizer.step();
    trainLoss.push(r.loss);
    sinceEval.push(r.loss);
    if ((step + 1) % config.evalEvery === 0 || step + 1 === config.steps) record(step + 1);
    onStep(step + 1);
  }
  if (divergedAtStep !== null) record(divergedAtStep);
  else if (config.curvature !== null && last !== null && config.steps % config.curvature.every === 0) probeCurvature(config.steps, last.x, last.labels);
  const accuracies = evals.map((e) => e.testAccuracy);
  let preciseBn: PreciseBnResult | null = null;
  if (config.preciseBn !== null && divergedAtStep === null) {
    const p = config.preciseBn;
    const kMax = Math.max(...p.ks);
    const calibration = permutation(data.train.count, new Rng(mixSeed(config.dataSeed, 0x7072)));
    const batches = Array.from({ length: kMax }, (_, k) => batchAt(data.train, calibration, k * p.batchSize, p.batchSize).x);
    const stats = model.layers.flatMap((l, k) => ('runningMean' in (l.state as object) ? [k] : []));
    preciseBn = preciseBnCurve(model, stats, batches, p.ks, () => evaluate(model, data.test).accuracy);
  }
  return {
    variant: config.variant,
    lr: config.lr,
    seed: config.seed,
    trainLoss,
    evals,
    finalTestAccuracy: accuracies[accuracies.length - 1],
    bestTestAccuracy: Math.max(...accuracies),
    divergedAtStep,
    landscape: config.landscapeEvery > 0 ? landscape : null,
    trace: config.traceSteps > 0 ? trace : null,
    gradChecks,
    curvature: config.curvature !== null ? curvature : null,
    preciseBn,
    seconds: (performance.now() - started) / 1000,
  };
}
