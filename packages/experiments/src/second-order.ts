import { fromArray, toTypedArray } from '@normkit/core';
import type { Tensor, TensorMap } from '@normkit/core';
import { softmaxRows } from './layers/softmax-cross-entropy.js';
import type { Network } from './network.js';
import { Rng, mixSeed } from './random.js';

/**
 * A point θ of a network in float64: every layer's parameters and state as float64 copies.
 * The functions here call the layers' pure `forward` / `backward` / `doubleBackward` with
 * it, so neither the network nor its running statistics change.
 */
export interface Float64Point {
  readonly params: TensorMap<string>[];
  readonly state: TensorMap<string>[];
}

const to64 = (map: TensorMap<string>): TensorMap<string> => {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(map as Record<string, Tensor>)) out[name] = fromArray(toTypedArray(t), t.shape, 'float64');
  return out;
};

/** The network's current parameters and state, copied to float64. */
export function float64Point(net: Network): Float64Point {
  return { params: net.layers.map((l) => to64(l.params)), state: net.layers.map((l) => to64(l.state)) };
}

/** The number of parameters (the length of the flat vectors below). */
export function parameterCount(point: Float64Point): number {
  return point.params.reduce((s, p) => s + Object.values(p as Record<string, Tensor>).reduce((a, t) => a + t.size, 0), 0);
}

/** The point moved to θ + α·d (d flat, in layer then parameter-name order: `Network.parameters()`'s). */
export function shiftedPoint(point: Float64Point, alpha: number, direction: Float64Array): Float64Point {
  let offset = 0;
  const params = point.params.map((map) => {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(map as Record<string, Tensor>)) {
      const v = toTypedArray(t);
      const moved = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) moved[i] = v[i] + alpha * direction[offset + i];
      offset += v.length;
      out[name] = fromArray(moved, t.shape, 'float64');
    }
    return out;
  });
  return { params, state: point.state };
}

/** Splits a flat vector into per-layer tensors shaped like the point's parameters. */
function unflatten(point: Float64Point, flat: Float64Array): TensorMap<string>[] {
  let offset = 0;
  return point.params.map((map) => {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(map as Record<string, Tensor>)) {
      out[name] = fromArray(flat.subarray(offset, offset + t.size), t.shape, 'float64');
      offset += t.size;
    }
    return out;
  });
}

/** Adds per-layer gradient maps into a flat vector (missing entries count as zero). */
function flattenInto(point: Float64Point, maps: readonly TensorMap<string>[], out: Float64Array): Float64Array {
  let offset = 0;
  point.params.forEach((map, k) => {
    for (const [name, t] of Object.entries(map as Record<string, Tensor>)) {
      const g = (maps[k] as Record<string, Tensor | undefined>)[name];
      if (g !== undefined) {
        const v = toTypedArray(g);
        for (let i = 0; i < t.size; i++) out[offset + i] += v[i];
      }
      offset += t.size;
    }
  });
  return out;
}

/** One forward pass in train mode (batch statistics) at a point: every layer's saved value and the logits. */
function forwardAt(net: Network, point: Float64Point, x: Tensor): { saved: object[]; logits: Tensor } {
  let h = fromArray(toTypedArray(x), x.shape, 'float64');
  const saved: object[] = [];
  net.layers.forEach((layer, k) => {
    const r = layer.normalizer.forward({ x: h, params: point.params[k], state: point.state[k], mode: 'train' });
    saved.push(r.saved as object);
    h = r.y;
  });
  return { saved, logits: h };
}

/** The mean cross-entropy of logits `(N, K)` and its gradient; `probs` are the softmax rows. */
function crossEntropyParts(logits: Tensor, labels: ArrayLike<number>): { loss: number; dLogits: Tensor; probs: Float64Array } {
  const [n, k] = logits.shape;
  const z = toTypedArray(logits);
  const { probs, logSumExp } = softmaxRows(z, n, k);
  let loss = 0;
  const d = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    loss += logSumExp[i] - z[i * k + labels[i]];
    for (let j = 0; j < k; j++) d[i * k + j] = (probs[i * k + j] - (j === labels[i] ? 1 : 0)) / n;
  }
  return { loss: loss / n, dLogits: fromArray(d, [n, k], 'float64'), probs };
}

/** The loss and its gradient (flat, float64) at a point, on one batch, in train mode. */
export function lossAndGradient(net: Network, point: Float64Point, x: Tensor, labels: ArrayLike<number>): { loss: number; gradient: Float64Array } {
  const { saved, logits } = forwardAt(net, point, x);
  const ce = crossEntropyParts(logits, labels);
  const grads: TensorMap<string>[] = new Array(net.layers.length);
  let g = ce.dLogits;
  for (let k = net.layers.length - 1; k >= 0; k--) {
    const b = net.layers[k].normalizer.backward({ dy: g, params: point.params[k], saved: saved[k] });
    grads[k] = b.grads;
    g = b.dx;
  }
  return { loss: ce.loss, gradient: flattenInto(point, grads, new Float64Array(parameterCount(point))) };
}

/**
 * The Hessian–vector product H·v of the batch's mean cross-entropy with respect to every
 * parameter, exactly, through the layers' `doubleBackward` (reverse over reverse):
 *
 * 1. forward, then backward with `dy_k` the gradient reaching layer k;
 * 2. a forward sweep of `doubleBackward(dy_k, ddx = t_k, dgrads = v_k)`: its `ddy` is the
 *    tangent `t_{k+1} = J_k (t_k, v_k)` of the next activation (t_0 = 0: the data do not move),
 *    its `dx` and `grads` are the second-order terms of layer k;
 * 3. at the logits, the cross-entropy's Hessian times the tangent,
 *    `(1/N)(p ⊙ t − p·⟨p, t⟩)` per row;
 * 4. a backward sweep with that, adding each layer's second-order terms on the way.
 *
 * Every layer must implement `doubleBackward`. Train mode: batch statistics are functions
 * of θ and are differentiated twice too.
 */
export function hessianVector(net: Network, point: Float64Point, x: Tensor, labels: ArrayLike<number>, v: Float64Array): Float64Array {
  const layers = net.layers;
  const { saved, logits } = forwardAt(net, point, x);
  const ce = crossEntropyParts(logits, labels);
  const dys: Tensor[] = new Array(layers.length);
  let g = ce.dLogits;
  for (let k = layers.length - 1; k >= 0; k--) {
    dys[k] = g;
    g = layers[k].normalizer.backward({ dy: g, params: point.params[k], saved: saved[k] }).dx;
  }
  const direction = unflatten(point, v);
  const secondX: Tensor[] = new Array(layers.length);
  const secondGrads: TensorMap<string>[] = new Array(layers.length);
  let t = fromArray(new Float64Array(x.size), x.shape, 'float64');
  layers.forEach((layer, k) => {
    const double = layer.normalizer.doubleBackward;
    if (double === undefined) throw new Error(`hessianVector: ${layer.plugin.meta.name} has no doubleBackward`);
    const r = double({ dy: dys[k], params: point.params[k], saved: saved[k], ddx: t, dgrads: direction[k] });
    secondX[k] = r.dx;
    secondGrads[k] = r.grads;
    t = r.ddy;
  });
  const [n, classes] = logits.shape;
  const tv = toTypedArray(t);
  const u = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    let pt = 0;
    for (let j = 0; j < classes; j++) pt += ce.probs[i * classes + j] * tv[i * classes + j];
    for (let j = 0; j < classes; j++) u[i * classes + j] = (ce.probs[i * classes + j] * (tv[i * classes + j] - pt)) / n;
  }
  let adj = fromArray(u, [n, classes], 'float64');
  const grads: TensorMap<string>[] = new Array(layers.length);
  for (let k = layers.length - 1; k >= 0; k--) {
    const b = layers[k].normalizer.backward({ dy: adj, params: point.params[k], saved: saved[k] });
    grads[k] = b.grads;
    const dx = toTypedArray(b.dx);
    const sx = toTypedArray(secondX[k]);
    const sum = new Float64Array(dx.length);
    for (let i = 0; i < sum.length; i++) sum[i] = dx[i] + sx[i];
    adj = fromArray(sum, b.dx.shape, 'float64');
  }
  const out = flattenInto(point, grads, new Float64Array(v.length));
  return flattenInto(point, secondGrads, out);
}

/** The outcome of {@link powerIteration}. */
export interface EigenEstimate {
  /** The Rayleigh quotient vᵀHv of the last iterate (the eigenvalue of largest magnitude). */
  readonly eigenvalue: number;
  /** ‖Hv − λv‖ / |λ| at the last iterate: how far v is from an eigenvector. */
  readonly residual: number;
  readonly iterations: number;
}

/**
 * Power iteration for the eigenvalue of largest magnitude of a symmetric operator: from a
 * seeded random unit vector, `v ← Hv / ‖Hv‖`, until the Rayleigh quotient changes by less
 * than `tolerance` (relative) or `maxIterations` products were used.
 */
export function powerIteration(apply: (v: Float64Array) => Float64Array, dim: number, options: { maxIterations: number; tolerance: number; seed: number }): EigenEstimate {
  const rng = new Rng(mixSeed(options.seed, 0x706f77));
  let v: Float64Array<ArrayBuffer> = new Float64Array(dim).map(() => rng.normal());
  const normalize = (w: Float64Array): Float64Array<ArrayBuffer> => {
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i] * w[i];
    const inv = 1 / Math.sqrt(s);
    return w.map((x) => x * inv);
  };
  v = normalize(v);
  let lambda = 0;
  let residual = Infinity;
  let iterations = 0;
  while (iterations < options.maxIterations) {
    const hv = apply(v);
    iterations++;
    let rq = 0;
    for (let i = 0; i < dim; i++) rq += v[i] * hv[i];
    let r = 0;
    for (let i = 0; i < dim; i++) r += (hv[i] - rq * v[i]) ** 2;
    residual = Math.sqrt(r) / Math.abs(rq);
    const change = Math.abs(rq - lambda) / Math.abs(rq);
    lambda = rq;
    if (!Number.isFinite(rq)) break;
    if (iterations > 1 && change < options.tolerance) break;
    v = normalize(hv);
  }
  return { eigenvalue: lambda, residual, iterations };
}

/**
 * The top Hessian eigenvalue of the batch loss at the network's current parameters (float64
 * copies; the network is not changed), by {@link powerIteration} on {@link hessianVector}.
 */
export function topHessianEigenvalue(net: Network, x: Tensor, labels: ArrayLike<number>, options: { maxIterations: number; tolerance: number; seed: number }): EigenEstimate {
  const point = float64Point(net);
  return powerIteration((v) => hessianVector(net, point, x, labels, v), parameterCount(point), options);
}
