import { Layer, NormkitError, arrayTypeOf, assertTensor, assertTensorMap, booleanOption, defineNormalizer, dtypeOf, formatShape, isContiguous, numberOption, readOptions, tensor, toContiguous, zeros } from '@normkit/core';
import type { Dtype, LayerInit, NormalizerTypes, Tensor, TensorMap } from '@normkit/core';
import { Rng, mixSeed } from '../random.js';

/** Options of {@link dense} as a user writes them. */
export interface DenseInputOptions {
  /** Size of the input's last axis. */
  readonly inFeatures: number;
  /** Number of output units. */
  readonly outFeatures: number;
  /** Learn a bias (default true). */
  readonly bias?: boolean;
  /** Seed of the He-normal draw of `weight` at `init` (default 0). */
  readonly seed?: number;
  /**
   * Compute `dx` in backward (default true). `false` is for a first layer whose input is
   * data: backward then skips the `dy·Wᵀ` product and returns a zero `dx`. Gradient checks
   * use the default.
   */
  readonly inputGrad?: boolean;
}

/** Resolved options of {@link dense}. */
export interface DenseOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  readonly seed: number;
  readonly inputGrad: boolean;
}

/** What the dense forward pass keeps for backward: the input (contiguous, by reference). */
export interface DenseSaved {
  readonly x: Tensor;
}

/** The type bag of {@link dense}. */
export interface DenseTypes extends NormalizerTypes {
  InputOptions: DenseInputOptions;
  Options: DenseOptions;
  Params: 'weight' | 'bias';
  State: never;
  Saved: DenseSaved;
}

const NAME = 'dense';

function resolveDenseOptions(input?: DenseInputOptions): DenseOptions {
  const o = readOptions(input, ['inFeatures', 'outFeatures', 'bias', 'seed', 'inputGrad'], NAME);
  return {
    inFeatures: numberOption(o, 'inFeatures', undefined, { integer: true, min: 1 }, NAME),
    outFeatures: numberOption(o, 'outFeatures', undefined, { integer: true, min: 1 }, NAME),
    bias: booleanOption(o, 'bias', true, NAME),
    seed: numberOption(o, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }, NAME),
    inputGrad: booleanOption(o, 'inputGrad', true, NAME),
  };
}

function paramShapes(o: DenseOptions): { weight: number[]; bias?: number[] } {
  return o.bias ? { weight: [o.inFeatures, o.outFeatures], bias: [o.outFeatures] } : { weight: [o.inFeatures, o.outFeatures] };
}

function contiguous(t: Tensor): Tensor {
  return isContiguous(t) ? t : toContiguous(t);
}

/**
 * `y = x·W + b` for a batch `x` of shape `(N, in)`: the plain dense layer, written as a
 * normkit plugin so that `@normkit/gradcheck` can check its backward pass.
 *
 * `W` is `(in, out)`, the orientation of the notes' `xᵀW` (PyTorch stores the transpose).
 * Backward: `dx = dy·Wᵀ`, `dW = xᵀ·dy`, `db = Σ_rows dy`.
 *
 * The loops skip zero inputs, which are common here: MNIST pixels and ReLU outputs.
 */
export const dense = defineNormalizer<DenseTypes>({
  meta: {
    name: NAME,
    version: '0.0.0',
    description: 'A dense layer y = x·W + b over a batch of rows.',
    formula: String.raw`y = x W + b`,
  },
  modes: ['train'],
  exampleOptions: [
    { inFeatures: 5, outFeatures: 3 },
    { inFeatures: 4, outFeatures: 6, bias: false, seed: 3 },
  ],
  resolveOptions: resolveDenseOptions,
  paramShapes,
  stateShapes: () => ({}),
  init(o, dtype: Dtype = 'float32') {
    const rng = new Rng(mixSeed(o.seed, 0x64656e));
    const std = Math.sqrt(2 / o.inFeatures); // He et al. 2015, for ReLU networks
    const w = new (arrayTypeOf(dtype))(o.inFeatures * o.outFeatures);
    for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
    const weight = tensor(w, [o.inFeatures, o.outFeatures]);
    const params: TensorMap<'weight' | 'bias'> = o.bias ? { weight, bias: zeros([o.outFeatures], dtype) } : { weight };
    return { params, state: {} };
  },
  exampleShapes: (o) => [[4, o.inFeatures]],
  forward({ x, params, state }, o) {
    const input = contiguous(assertTensor(x, 'x', { rank: 2 }));
    if (input.shape[1] !== o.inFeatures) {
      throw new NormkitError('E_SHAPE', `x: expected shape (N, ${o.inFeatures}), got ${formatShape(input.shape)}`, 'x');
    }
    const p = assertTensorMap(params, paramShapes(o), 'params');
    const W = contiguous(p.weight);
    const b = p.bias === undefined ? null : contiguous(p.bias);
    const [n, inF] = input.shape;
    const outF = o.outFeatures;
    const xd = input.data;
    const xo = input.offset;
    const wd = W.data;
    const wo = W.offset;
    const y = new (arrayTypeOf(dtypeOf(input)))(n * outF);
    for (let i = 0; i < n; i++) {
      const yRow = i * outF;
      if (b !== null) for (let j = 0; j < outF; j++) y[yRow + j] = b.data[b.offset + j];
      const xRow = xo + i * inF;
      for (let k = 0; k < inF; k++) {
        const xv = xd[xRow + k];
        if (xv === 0) continue;
        const wRow = wo + k * outF;
        for (let j = 0; j < outF; j++) y[yRow + j] += xv * wd[wRow + j];
      }
    }
    return { y: tensor(y, [n, outF]), state, saved: { x: input } };
  },
  backward({ dy, params, saved }, o) {
    const x = saved.x;
    const [n, inF] = x.shape;
    const outF = o.outFeatures;
    const g = contiguous(assertTensor(dy, 'dy', { shape: [n, outF] }));
    const p = assertTensorMap(params, paramShapes(o), 'params');
    const W = contiguous(p.weight);
    const gd = g.data;
    const go = g.offset;
    const xd = x.data;
    const xo = x.offset;
    const wd = W.data;
    const wo = W.offset;
    const dW = new (arrayTypeOf(dtypeOf(W)))(inF * outF);
    const dx = new (arrayTypeOf(dtypeOf(x)))(n * inF);
    // dW = xᵀ·dy, row by row of x, skipping zero inputs.
    for (let i = 0; i < n; i++) {
      const gRow = go + i * outF;
      const xRow = xo + i * inF;
      for (let k = 0; k < inF; k++) {
        const xv = xd[xRow + k];
        if (xv === 0) continue;
        const r = k * outF;
        for (let j = 0; j < outF; j++) dW[r + j] += xv * gd[gRow + j];
      }
    }
    if (o.inputGrad) {
      // dx = dy·Wᵀ, through a transposed copy of W so that the inner loop is contiguous and
      // zero entries of dy (common behind a ReLU) are skipped.
      const wt = new (arrayTypeOf(dtypeOf(W)))(inF * outF);
      for (let k = 0; k < inF; k++) for (let j = 0; j < outF; j++) wt[j * inF + k] = wd[wo + k * outF + j];
      for (let i = 0; i < n; i++) {
        const gRow = go + i * outF;
        const dxRow = i * inF;
        for (let j = 0; j < outF; j++) {
          const gv = gd[gRow + j];
          if (gv === 0) continue;
          const r = j * inF;
          for (let k = 0; k < inF; k++) dx[dxRow + k] += gv * wt[r + k];
        }
      }
    }
    const grads: TensorMap<'weight' | 'bias'> = { weight: tensor(dW, [inF, outF]) };
    if (p.bias !== undefined) {
      const db = new (arrayTypeOf(dtypeOf(p.bias)))(outF);
      for (let i = 0; i < n; i++) for (let j = 0; j < outF; j++) db[j] += gd[go + i * outF + j];
      return { dx: tensor(dx, x.shape), grads: { ...grads, bias: tensor(db, [outF]) } };
    }
    return { dx: tensor(dx, x.shape), grads };
  },
});

/** The stateful {@link Layer} around {@link dense}. */
export class Dense extends Layer<DenseTypes> {
  constructor(options: DenseInputOptions, init: LayerInit = {}) {
    super(dense, options, init);
  }
}
