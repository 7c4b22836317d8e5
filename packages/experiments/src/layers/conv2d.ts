import { Layer, NormkitError, arrayTypeOf, assertTensor, booleanOption, checkForward, defineNormalizer, dtypeOf, formatShape, isContiguous, numberOption, readOptions, tensor, toContiguous, zeros } from '@normkit/core';
import type { ForwardSpec, LayerInit, NormalizerTypes, Tensor, TensorMap } from '@normkit/core';
import { Rng, mixSeed } from '../random.js';

/** Options of {@link conv2d} as a user writes them. */
export interface Conv2dInputOptions {
  /** C, the input channels. */
  readonly inChannels: number;
  /** F, the output channels (filters). */
  readonly outChannels: number;
  /** k: square k × k kernels (default 3). */
  readonly kernelSize?: number;
  /** The stride along both spatial axes (default 1). */
  readonly stride?: number;
  /** Zero padding on every side (default 0). */
  readonly padding?: number;
  /** Learn a bias per output channel (default true). */
  readonly bias?: boolean;
  /** Seed of the He-normal draw of `weight` at `init` (default 0). */
  readonly seed?: number;
  /** Compute `dx` in backward (default true); `false` for a first layer fed by data. */
  readonly inputGrad?: boolean;
}

/** Resolved options of {@link conv2d}. */
export interface Conv2dOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly bias: boolean;
  readonly seed: number;
  readonly inputGrad: boolean;
}

/** What the forward pass keeps: the unfolded input (im2col) and the input's shape. */
export interface Conv2dSaved {
  /** `(N·Ho·Wo) × (C·k·k)` patches, row-major, in the input's dtype. */
  readonly cols: Float32Array | Float64Array;
  readonly xShape: readonly [number, number, number, number];
}

/** The type bag of {@link conv2d}. */
export interface Conv2dTypes extends NormalizerTypes {
  Name: 'conv2d';
  InputOptions: Conv2dInputOptions;
  Options: Conv2dOptions;
  Params: 'weight' | 'bias';
  State: never;
  Saved: Conv2dSaved;
}

const NAME = 'conv2d';

function resolve(input?: Conv2dInputOptions): Conv2dOptions {
  const o = readOptions(input, ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'bias', 'seed', 'inputGrad'], NAME);
  return {
    inChannels: numberOption(o, 'inChannels', undefined, { integer: true, min: 1 }, NAME),
    outChannels: numberOption(o, 'outChannels', undefined, { integer: true, min: 1 }, NAME),
    kernelSize: numberOption(o, 'kernelSize', 3, { integer: true, min: 1 }, NAME),
    stride: numberOption(o, 'stride', 1, { integer: true, min: 1 }, NAME),
    padding: numberOption(o, 'padding', 0, { integer: true, min: 0 }, NAME),
    bias: booleanOption(o, 'bias', true, NAME),
    seed: numberOption(o, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }, NAME),
    inputGrad: booleanOption(o, 'inputGrad', true, NAME),
  };
}

/** The output size along one spatial axis: ⌊(size + 2·padding − k)/stride⌋ + 1. */
export function convOutputSize(size: number, kernelSize: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernelSize) / stride) + 1;
}

/**
 * A 2-d convolution (cross-correlation, as PyTorch's `Conv2d`) of `(N, C, H, W)` input with
 * `F` square `k × k` kernels, by **im2col and a matrix product**:
 *
 * ```
 * cols[(n, i, j), (c, a, b)] = x[n, c, i·s + a − p, j·s + b − p]   (0 outside the image)
 * y[n, f, i, j] = Σ_q cols[(n, i, j), q] · W[f, q] + bias[f]
 * ```
 *
 * with `W` the weight `(F, C, k, k)` read as `(F, C·k·k)`. Backward: `dW = dyᵀ·cols`,
 * `dbias = Σ dy`, and `dx` = col2im(dy·W) (each patch's gradient added back where it was
 * read). It exists for the batch-size sweep's small CNN; normkit's normalizers are not
 * convolutions, so it lives in the experiments package.
 */
export const conv2d = defineNormalizer<Conv2dTypes>({
  meta: { name: NAME, version: '0.0.0', description: 'A 2-d convolution by im2col and a matrix product.', formula: String.raw`y_{nfij} = \sum_{c,a,b} W_{fcab}\,x_{n,c,is+a-p,js+b-p} + b_f` },
  modes: ['train'],
  exampleOptions: [
    { inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1 },
    { inChannels: 3, outChannels: 2, kernelSize: 2, stride: 1, padding: 0, bias: false, seed: 4 },
  ],
  resolveOptions: resolve,

  bind(o) {
    const { inChannels: C, outChannels: F, kernelSize: k, stride: s, padding: p } = o;
    const Q = C * k * k;
    const paramShapes: { weight: number[]; bias?: number[] } = o.bias ? { weight: [F, C, k, k], bias: [F] } : { weight: [F, C, k, k] };
    const spec: ForwardSpec = {
      plugin: NAME,
      minRank: 4,
      checkShape: (shape) =>
        shape.length === 4 && shape[1] === C && shape[2] + 2 * p >= k && shape[3] + 2 * p >= k ? null : `expected (N, ${C}, H, W) with H, W ≥ ${k - 2 * p}, got ${formatShape(shape)}`,
      paramShapes,
      stateShapes: {},
    };
    const contiguous = (t: Tensor): Tensor => (isContiguous(t) ? t : toContiguous(t));

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),

      init(dtype = 'float32') {
        const rng = new Rng(mixSeed(o.seed, 0x636f6e76));
        const std = Math.sqrt(2 / Q); // He et al. 2015: fan-in C·k·k
        const w = new (arrayTypeOf(dtype))(F * Q);
        for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
        const weight = tensor(w, [F, C, k, k]);
        const params: TensorMap<'weight' | 'bias'> = o.bias ? { weight, bias: zeros([F], dtype) } : { weight };
        return { params, state: {} };
      },

      exampleShapes: () => [[2, C, 5, 4]],

      forward(args) {
        if (args.out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} returns a new (N, F, Ho, Wo) tensor; expected no out, got one`, 'out');
        const { x, dtype, params } = checkForward(args, spec);
        const input = contiguous(x);
        const [n, , h, w] = input.shape;
        const ho = convOutputSize(h, k, s, p);
        const wo = convOutputSize(w, k, s, p);
        const P = ho * wo;
        const cols = new (arrayTypeOf(dtype))(n * P * Q);
        const xd = input.data;
        const xo = input.offset;
        // im2col: one row per output position, (c, a, b) along the row.
        for (let b0 = 0; b0 < n; b0++) {
          for (let i = 0; i < ho; i++) {
            for (let j = 0; j < wo; j++) {
              const row = ((b0 * ho + i) * wo + j) * Q;
              let q = 0;
              for (let c = 0; c < C; c++) {
                const plane = xo + (b0 * C + c) * h * w;
                for (let a = 0; a < k; a++) {
                  const r = i * s + a - p;
                  for (let bb = 0; bb < k; bb++, q++) {
                    const col = j * s + bb - p;
                    cols[row + q] = r >= 0 && r < h && col >= 0 && col < w ? xd[plane + r * w + col] : 0;
                  }
                }
              }
            }
          }
        }
        const W = contiguous(params.weight);
        const wd = W.data;
        const wOff = W.offset;
        const bias = params.bias === undefined ? null : contiguous(params.bias);
        const y = new (arrayTypeOf(dtype))(n * F * P);
        for (let b0 = 0; b0 < n; b0++) {
          for (let pos = 0; pos < P; pos++) {
            const row = (b0 * P + pos) * Q;
            for (let f = 0; f < F; f++) {
              const wRow = wOff + f * Q;
              let acc = bias === null ? 0 : bias.data[bias.offset + f];
              for (let q = 0; q < Q; q++) acc += cols[row + q] * wd[wRow + q];
              y[(b0 * F + f) * P + pos] = acc;
            }
          }
        }
        return { y: tensor(y, [n, F, ho, wo]), state: args.state, saved: { cols, xShape: [n, C, h, w] } };
      },

      backward({ dy, params, saved, out }) {
        if (out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} backward returns a new dx; expected no out, got one`, 'out');
        const xShape = saved?.xShape;
        if (saved?.cols === undefined || xShape === undefined || xShape[1] !== C) {
          throw new NormkitError('E_STATE', `saved: expected the saved value of a ${NAME} forward call with inChannels ${C}`, 'saved');
        }
        const [n, , h, w] = xShape;
        const ho = convOutputSize(h, k, s, p);
        const wo = convOutputSize(w, k, s, p);
        const P = ho * wo;
        const cols = saved.cols;
        const dtype = cols instanceof Float64Array ? 'float64' : 'float32';
        const g = contiguous(assertTensor(dy, 'dy', { shape: [n, F, ho, wo] }));
        const W = contiguous(assertTensor(params.weight, 'params.weight', { shape: [F, C, k, k] }));
        if (dtypeOf(W) !== dtype) throw new NormkitError('E_DTYPE', `params.weight: expected ${dtype} like the input, got ${dtypeOf(W)}`, 'params.weight');
        const wd = W.data;
        const wOff = W.offset;
        const gd = g.data;
        const go = g.offset;
        const dW = new (arrayTypeOf(dtype))(F * Q);
        const db = new (arrayTypeOf(dtype))(F);
        const dx = new (arrayTypeOf(dtype))(n * C * h * w);
        const dcol = new Float64Array(Q);
        for (let b0 = 0; b0 < n; b0++) {
          for (let pos = 0; pos < P; pos++) {
            const row = (b0 * P + pos) * Q;
            dcol.fill(0);
            for (let f = 0; f < F; f++) {
              const gv = gd[go + (b0 * F + f) * P + pos];
              if (gv === 0) continue;
              db[f] += gv;
              const r = f * Q;
              for (let q = 0; q < Q; q++) dW[r + q] += gv * cols[row + q];
              if (o.inputGrad) for (let q = 0; q < Q; q++) dcol[q] += gv * wd[wOff + r + q];
            }
            if (!o.inputGrad) continue;
            // col2im: the patch's gradient back to where it was read.
            const i = Math.floor(pos / wo);
            const j = pos - i * wo;
            let q = 0;
            for (let c = 0; c < C; c++) {
              const plane = (b0 * C + c) * h * w;
              for (let a = 0; a < k; a++) {
                const rr = i * s + a - p;
                for (let bb = 0; bb < k; bb++, q++) {
                  const cc = j * s + bb - p;
                  if (rr >= 0 && rr < h && cc >= 0 && cc < w) dx[plane + rr * w + cc] += dcol[q];
                }
              }
            }
          }
        }
        const grads: TensorMap<'weight' | 'bias'> = { weight: tensor(dW, [F, C, k, k]) };
        return { dx: tensor(dx, [n, C, h, w]), grads: o.bias ? { ...grads, bias: tensor(db, [F]) } : grads };
      },
    };
  },
});

/** The stateful {@link Layer} around {@link conv2d}. */
export class Conv2d extends Layer<Conv2dTypes> {
  constructor(options: Conv2dInputOptions, init: LayerInit = {}) {
    super(conv2d, options, init);
  }
}
