import { Layer, NormkitError, arrayTypeOf, assertTensor, booleanOption, checkForward, checkOut, defineNormalizer, dtypeOf, formatShape, isContiguous, numberOption, outputOf, readOptions, tensor, toContiguous, zeros } from '@normkit/core';
import type { ForwardSpec, LayerInit, NormalizerTypes, Tensor, TensorMap } from '@normkit/core';
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
  Name: 'dense';
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

function contiguous(t: Tensor): Tensor {
  return isContiguous(t) ? t : toContiguous(t);
}

/**
 * `y = a·B (+ c)` for `a` `(n, p)` and `B` `(p, q)`, row-major, into `y` `(n, q)`: per row of
 * `a`, the non-zero entries are gathered and their rows of `B` added four at a time into a
 * float64 accumulator. Zeros are common here (MNIST pixels, ReLU outputs and the gradients
 * behind a ReLU), and four rows per pass read and write the accumulator a quarter as often.
 */
function matmulSkippingZeros(
  a: ArrayLike<number>,
  aOffset: number,
  n: number,
  p: number,
  B: ArrayLike<number>,
  bOffset: number,
  q: number,
  c: ArrayLike<number> | null,
  cOffset: number,
  y: Float32Array | Float64Array,
): void {
  const index = new Int32Array(p);
  const value = new Float64Array(p);
  const acc = new Float64Array(q);
  for (let i = 0; i < n; i++) {
    let m = 0;
    const aRow = aOffset + i * p;
    for (let k = 0; k < p; k++) {
      const v = a[aRow + k];
      if (v !== 0) {
        index[m] = k;
        value[m++] = v;
      }
    }
    if (c === null) acc.fill(0);
    else for (let j = 0; j < q; j++) acc[j] = c[cOffset + j];
    let t = 0;
    for (; t + 4 <= m; t += 4) {
      const v0 = value[t];
      const v1 = value[t + 1];
      const v2 = value[t + 2];
      const v3 = value[t + 3];
      const r0 = bOffset + index[t] * q;
      const r1 = bOffset + index[t + 1] * q;
      const r2 = bOffset + index[t + 2] * q;
      const r3 = bOffset + index[t + 3] * q;
      for (let j = 0; j < q; j++) acc[j] += v0 * B[r0 + j] + v1 * B[r1 + j] + v2 * B[r2 + j] + v3 * B[r3 + j];
    }
    for (; t < m; t++) {
      const v = value[t];
      const r = bOffset + index[t] * q;
      for (let j = 0; j < q; j++) acc[j] += v * B[r + j];
    }
    y.set(acc, i * q);
  }
}

/**
 * `dW = xᵀ·g` for `x` `(n, p)` and `g` `(n, q)` into `dW` `(p, q)`: four rows of `x` at a
 * time, skipping an input k that is zero in all four, accumulated in float64.
 */
function weightGradient(x: ArrayLike<number>, xOffset: number, n: number, p: number, g: ArrayLike<number>, gOffset: number, q: number, dW: Float32Array | Float64Array): void {
  const acc = new Float64Array(p * q);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x0 = xOffset + i * p;
    const g0 = gOffset + i * q;
    for (let k = 0; k < p; k++) {
      const a0 = x[x0 + k];
      const a1 = x[x0 + p + k];
      const a2 = x[x0 + 2 * p + k];
      const a3 = x[x0 + 3 * p + k];
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
      const r = k * q;
      for (let j = 0; j < q; j++) acc[r + j] += a0 * g[g0 + j] + a1 * g[g0 + q + j] + a2 * g[g0 + 2 * q + j] + a3 * g[g0 + 3 * q + j];
    }
  }
  for (; i < n; i++) {
    const xr = xOffset + i * p;
    const gr = gOffset + i * q;
    for (let k = 0; k < p; k++) {
      const a = x[xr + k];
      if (a === 0) continue;
      const r = k * q;
      for (let j = 0; j < q; j++) acc[r + j] += a * g[gr + j];
    }
  }
  dW.set(acc);
}

/**
 * `y = x·W + b` for a batch `x` of shape `(N, in)`: the plain dense layer, written as a
 * normkit plugin so that `@normkit/gradcheck` can check its backward pass.
 *
 * `W` is `(in, out)`, the orientation of the notes' `xᵀW` (PyTorch stores the transpose).
 * Backward: `dx = dy·Wᵀ`, `dW = xᵀ·dy`, `db = Σ_rows dy`. Parameters have `x`'s dtype (core's
 * validation, `E_DTYPE` otherwise); `dy` may be either dtype.
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

  bind(o) {
    const inF = o.inFeatures;
    const outF = o.outFeatures;
    const paramShapes: { weight: number[]; bias?: number[] } = o.bias ? { weight: [inF, outF], bias: [outF] } : { weight: [inF, outF] };
    const spec: ForwardSpec = {
      plugin: NAME,
      minRank: 2,
      checkShape: (shape) => (shape.length === 2 && shape[1] === inF ? null : `expected shape (N, ${inF}), got ${formatShape(shape)}`),
      paramShapes,
      stateShapes: {},
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),

      init(dtype = 'float32') {
        const rng = new Rng(mixSeed(o.seed, 0x64656e));
        const std = Math.sqrt(2 / inF); // He et al. 2015, for ReLU networks
        const w = new (arrayTypeOf(dtype))(inF * outF);
        for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
        const weight = tensor(w, [inF, outF]);
        const params: TensorMap<'weight' | 'bias'> = o.bias ? { weight, bias: zeros([outF], dtype) } : { weight };
        return { params, state: {} };
      },

      exampleShapes: () => [[4, inF]],

      forward(args) {
        // y is (N, out), not x's shape: core checks everything but `out`, which is checked here.
        const { x, dtype, params } = checkForward({ ...args, out: undefined }, spec);
        const input = contiguous(x);
        const n = input.shape[0];
        const out = args.out === undefined ? undefined : checkOut(args.out, [n, outF], dtype, [x, ...Object.values(params)]);
        const W = contiguous(params.weight);
        const b = params.bias === undefined ? null : contiguous(params.bias);
        const xd = input.data;
        const xo = input.offset;
        const wd = W.data;
        const wo = W.offset;
        const result = outputOf(out, [n, outF], dtype);
        matmulSkippingZeros(xd, xo, n, inF, wd, wo, outF, b === null ? null : b.data, b === null ? 0 : b.offset, result.data);
        return { y: result, state: args.state, saved: { x: input } };
      },

      backward({ dy, params, saved, out }) {
        const x = saved?.x;
        if (x === undefined || x.shape.length !== 2 || x.shape[1] !== inF) {
          throw new NormkitError('E_STATE', `saved: expected the saved value of a ${NAME} forward call with inFeatures ${inF}`, 'saved');
        }
        const n = x.shape[0];
        const dtype = dtypeOf(x);
        const g = contiguous(assertTensor(dy, 'dy', { shape: [n, outF] }));
        // The parameters as in forward: these names and shapes, x's dtype.
        const p = checkForward({ x, params, state: {}, mode: 'train' }, spec).params;
        // dx goes into the caller's out when one is given (checked before anything is computed).
        const dxOut = out === undefined ? undefined : checkOut(out, x.shape, dtype, [x, g, ...Object.values(p)]);
        const W = contiguous(p.weight);
        const gd = g.data;
        const go = g.offset;
        const xd = x.data;
        const xo = x.offset;
        const wd = W.data;
        const wo = W.offset;
        const dW = new (arrayTypeOf(dtype))(inF * outF);
        const dx = new (arrayTypeOf(dtype))(n * inF);
        weightGradient(xd, xo, n, inF, gd, go, outF, dW);
        if (o.inputGrad) {
          // dx = dy·Wᵀ through a transposed copy of W, so that the rows read are contiguous.
          const wt = new Float64Array(inF * outF);
          for (let k = 0; k < inF; k++) for (let j = 0; j < outF; j++) wt[j * inF + k] = wd[wo + k * outF + j];
          matmulSkippingZeros(gd, go, n, outF, wt, 0, inF, null, 0, dx);
        }
        const dxTensor = (): Tensor => {
          if (dxOut === undefined) return tensor(dx, x.shape);
          dxOut.data.set(dx, dxOut.offset);
          return dxOut;
        };
        const grads: TensorMap<'weight' | 'bias'> = { weight: tensor(dW, [inF, outF]) };
        if (p.bias !== undefined) {
          const db = new (arrayTypeOf(dtype))(outF);
          for (let i = 0; i < n; i++) for (let j = 0; j < outF; j++) db[j] += gd[go + i * outF + j];
          return { dx: dxTensor(), grads: { ...grads, bias: tensor(db, [outF]) } };
        }
        return { dx: dxTensor(), grads };
      },

      doubleBackward({ dy, params, saved, ddx, dgrads }) {
        // backward maps (x, W, dy) to dx = dy·Wᵀ (when inputGrad), dW = xᵀ·dy, db = Σ_rows dy.
        // With cotangents ddx, dW̄, db̄ of those outputs, S = ⟨ddx, dx⟩ + ⟨dW̄, dW⟩ + ⟨db̄, db⟩ and
        //   ∂S/∂x = dy·dW̄ᵀ,   ∂S/∂dy = ddx·W + x·dW̄ + db̄ (the JVP of y),   ∂S/∂W = ddxᵀ·dy,   ∂S/∂b = 0.
        const x = saved?.x;
        if (x === undefined || x.shape.length !== 2 || x.shape[1] !== inF) {
          throw new NormkitError('E_STATE', `saved: expected the saved value of a ${NAME} forward call with inFeatures ${inF}`, 'saved');
        }
        const n = x.shape[0];
        const dtype = dtypeOf(x);
        const g = contiguous(assertTensor(dy, 'dy', { shape: [n, outF] }));
        const p = checkForward({ x, params, state: {}, mode: 'train' }, spec).params;
        const xdot = contiguous(assertTensor(ddx, 'ddx', { shape: [n, inF] }));
        const wBar = dgrads?.weight === undefined ? null : contiguous(assertTensor(dgrads.weight, 'dgrads.weight', { shape: [inF, outF] }));
        const bBar = dgrads?.bias === undefined ? null : contiguous(assertTensor(dgrads.bias, 'dgrads.bias', { shape: [outF] }));
        const W = contiguous(p.weight);
        const dxOut = new (arrayTypeOf(dtype))(n * inF);
        const ddy = new (arrayTypeOf(dtype))(n * outF);
        const dW = new (arrayTypeOf(dtype))(inF * outF);
        for (let i = 0; i < n; i++) {
          const yRow = i * outF;
          if (bBar !== null) for (let j = 0; j < outF; j++) ddy[yRow + j] = bBar.data[bBar.offset + j];
          for (let k = 0; k < inF; k++) {
            const xv = x.data[x.offset + i * inF + k];
            const tv = o.inputGrad ? xdot.data[xdot.offset + i * inF + k] : 0;
            const gRow = g.offset + i * outF;
            let acc = 0;
            for (let j = 0; j < outF; j++) {
              let add = 0;
              if (tv !== 0) {
                add += tv * W.data[W.offset + k * outF + j];
                dW[k * outF + j] += tv * g.data[gRow + j];
              }
              if (wBar !== null) {
                const wb = wBar.data[wBar.offset + k * outF + j];
                if (xv !== 0) add += xv * wb;
                acc += g.data[gRow + j] * wb;
              }
              ddy[yRow + j] += add;
            }
            dxOut[i * inF + k] = acc;
          }
        }
        const grads: TensorMap<'weight' | 'bias'> = { weight: tensor(dW, [inF, outF]) };
        return { dx: tensor(dxOut, x.shape), ddy: tensor(ddy, [n, outF]), grads: p.bias === undefined ? grads : { ...grads, bias: zeros([outF], dtype) } };
      },
    };
  },
});

/** The stateful {@link Layer} around {@link dense}. */
export class Dense extends Layer<DenseTypes> {
  constructor(options: DenseInputOptions, init: LayerInit = {}) {
    super(dense, options, init);
  }
}
