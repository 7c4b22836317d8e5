import { NormkitError, arrayTypeOf, assertTensor, checkForward, checkOut, defineNormalizer, describeValue, formatShape, isContiguous, numberOption, readOptions, tensor, toContiguous } from '@normkit/core';
import type { ForwardSpec, NormalizerTypes, Tensor } from '@normkit/core';

/** Options of {@link softmaxCrossEntropy} as a user writes them. */
export interface SoftmaxCrossEntropyInputOptions {
  /** K, the number of classes (the logits' last axis). */
  readonly numClasses: number;
  /** The class of each row, integers in [0, K). Its length fixes the batch size. */
  readonly targets: readonly number[] | Uint8Array | Int32Array;
}

/** Resolved options of {@link softmaxCrossEntropy}. */
export interface SoftmaxCrossEntropyOptions {
  readonly numClasses: number;
  readonly targets: Int32Array;
}

/** What the forward pass keeps: the softmax probabilities (float64, N × K). */
export interface SoftmaxCrossEntropySaved {
  readonly probs: Float64Array;
  readonly shape: readonly [number, number];
  readonly dtype: 'float32' | 'float64';
}

/** The type bag of {@link softmaxCrossEntropy}. */
export interface SoftmaxCrossEntropyTypes extends NormalizerTypes {
  Name: 'softmax-cross-entropy';
  InputOptions: SoftmaxCrossEntropyInputOptions;
  Options: SoftmaxCrossEntropyOptions;
  Params: never;
  State: never;
  Saved: SoftmaxCrossEntropySaved;
}

const NAME = 'softmax-cross-entropy';

function resolve(input?: SoftmaxCrossEntropyInputOptions): SoftmaxCrossEntropyOptions {
  const o = readOptions(input, ['numClasses', 'targets'], NAME);
  const numClasses = numberOption(o, 'numClasses', undefined, { integer: true, min: 2 }, NAME);
  const raw = o.targets;
  const list = raw instanceof Uint8Array || raw instanceof Int32Array || Array.isArray(raw) ? Array.from(raw as ArrayLike<number>) : null;
  if (list === null || list.length === 0 || !list.every((t) => Number.isInteger(t) && t >= 0 && t < numClasses)) {
    throw new NormkitError('E_OPTION', `${NAME} options.targets: expected a non-empty list of integers in [0, ${numClasses}), got ${describeValue(raw)}`, 'options.targets');
  }
  return { numClasses, targets: Int32Array.from(list) };
}

/**
 * Softmax followed by the cross-entropy with fixed labels, averaged over the batch:
 *
 * ```
 * p_ik = exp(x_ik − max_k x_ik) / Σ_k exp(x_ik − max_k x_ik)
 * y    = −(1/N) Σ_i log p_{i, t_i}          (output shape [1])
 * dx   = dy · (p − onehot(t)) / N
 * ```
 *
 * The input is the logits `(N, K)`; the labels are an **option** (`targets`), so the
 * plugin is a function of the logits alone and `@normkit/gradcheck` can check it. In a
 * training loop the options change with every batch: create it per batch and call the
 * pure `forward`/`backward` (no parameters, no state).
 */
export const softmaxCrossEntropy = defineNormalizer<SoftmaxCrossEntropyTypes>({
  meta: {
    name: NAME,
    version: '0.0.0',
    description: 'Mean softmax cross-entropy of logits against fixed integer labels.',
    formula: String.raw`y = -\frac{1}{N}\sum_i \log \frac{e^{x_{i t_i}}}{\sum_k e^{x_{ik}}}`,
  },
  modes: ['train'],
  exampleOptions: [
    { numClasses: 4, targets: [0, 3, 1] },
    { numClasses: 3, targets: [2, 2, 0, 1, 0] },
  ],
  resolveOptions: resolve,

  bind(o) {
    const n = o.targets.length;
    const k = o.numClasses;
    const spec: ForwardSpec = {
      plugin: NAME,
      minRank: 2,
      checkShape: (shape) => (shape.length === 2 && shape[0] === n && shape[1] === k ? null : `expected logits of shape (${n}, ${k}), got ${formatShape(shape)}`),
      paramShapes: {},
      stateShapes: {},
    };
    return {
      paramShapes: () => ({}),
      stateShapes: () => ({}),
      init: () => ({ params: {}, state: {} }),
      exampleShapes: () => [[n, k]],

      forward(args) {
        if (args.out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} returns a new [1] loss; expected no out, got one`, 'out');
        const { x, dtype } = checkForward(args, spec);
        const c = isContiguous(x) ? x : toContiguous(x);
        const probs = new Float64Array(n * k);
        let loss = 0;
        for (let i = 0; i < n; i++) {
          const row = c.offset + i * k;
          let max = -Infinity;
          for (let j = 0; j < k; j++) max = Math.max(max, c.data[row + j]);
          let sum = 0;
          for (let j = 0; j < k; j++) {
            const e = Math.exp(c.data[row + j] - max);
            probs[i * k + j] = e;
            sum += e;
          }
          for (let j = 0; j < k; j++) probs[i * k + j] /= sum;
          // log p_t = x_t − max − log Σ: exact even when p_t underflows.
          loss -= c.data[row + o.targets[i]] - max - Math.log(sum);
        }
        const y = new (arrayTypeOf(dtype))(1);
        y[0] = loss / n;
        return { y: tensor(y, [1]), state: args.state, saved: { probs, shape: [n, k], dtype } };
      },

      backward({ dy, saved, out }) {
        if (saved?.probs?.length !== n * k) {
          throw new NormkitError('E_STATE', `saved: expected the saved value of a ${NAME} forward call on (${n}, ${k}) logits`, 'saved');
        }
        const g = assertTensor(dy, 'dy', { shape: [1] });
        // dx goes into the caller's out when one is given (checked before anything is computed).
        const dxOut = out === undefined ? undefined : checkOut(out, [n, k], saved.dtype, [g]);
        const scale = g.data[g.offset] / n;
        const dx = new (arrayTypeOf(saved.dtype))(n * k);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < k; j++) dx[i * k + j] = scale * (saved.probs[i * k + j] - (j === o.targets[i] ? 1 : 0));
        }
        if (dxOut === undefined) return { dx: tensor(dx, [n, k]), grads: {} };
        dxOut.data.set(dx, dxOut.offset);
        return { dx: dxOut, grads: {} };
      },
    };
  },
});

/** The loss, its gradient with respect to the logits, and the number of correct argmax predictions. */
export interface LossResult {
  readonly loss: number;
  readonly dLogits: Tensor;
  readonly correct: number;
}

/**
 * One training-loop call of {@link softmaxCrossEntropy}: the mean loss of `logits` against
 * `labels`, `∂loss/∂logits`, and how many rows the argmax gets right.
 */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>, numClasses: number): LossResult {
  const batchLoss = softmaxCrossEntropy.create({ numClasses, targets: Array.from(labels) });
  const { y, saved } = batchLoss.forward({ x: logits, params: {}, state: {}, mode: 'train' });
  const { dx } = batchLoss.backward({ dy: tensor(new (arrayTypeOf(saved.dtype))([1]), [1]), params: {}, saved });
  return { loss: y.data[0], dLogits: dx, correct: countCorrect(logits, labels) };
}

/** How many rows of `logits` have their largest entry at the label. */
export function countCorrect(logits: Tensor, labels: ArrayLike<number>): number {
  const c = isContiguous(logits) ? logits : toContiguous(logits);
  const [n, k] = c.shape;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (c.data[c.offset + i * k + j] > c.data[c.offset + i * k + best]) best = j;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/**
 * Row-wise softmax of `(n, k)` values, in float64, with each row's log-sum-exp:
 * `p_ij = exp(z_ij − lse_i)`, `lse_i = log Σ_j exp(z_ij)` (shifted by the row maximum).
 */
export function softmaxRows(z: ArrayLike<number>, n: number, k: number): { probs: Float64Array; logSumExp: Float64Array } {
  const probs = new Float64Array(n * k);
  const logSumExp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, z[i * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(z[i * k + j] - max);
    const lse = max + Math.log(sum);
    logSumExp[i] = lse;
    for (let j = 0; j < k; j++) probs[i * k + j] = Math.exp(z[i * k + j] - lse);
  }
  return { probs, logSumExp };
}
