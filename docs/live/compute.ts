/**
 * The computation behind the docs' live page (`live.ts` draws it): a seeded batch of
 * activations `(N, C, H, W)` through one normkit normalizer, forward in train mode and
 * backward with a seeded upstream gradient, summarized as histograms and per-channel
 * statistics. Nothing here touches the DOM, so the browser test runs the same function in
 * Node and compares the page's numbers with it.
 */
import { batchNorm } from '@normkit/batch-norm';
import { fromArray, setKernelBackendsEnabled, kernelBackendsEnabled, toTypedArray } from '@normkit/core';
import type { Normalizer, Tensor } from '@normkit/core';
import { groupNorm } from '@normkit/group-norm';
import { instanceNorm } from '@normkit/instance-norm';
import { layerNorm } from '@normkit/layer-norm';
import { rmsNorm } from '@normkit/rms-norm';

/** The channels of the page's batch. */
export const CHANNELS = 4;
/** The height and width of each channel's feature map. */
export const SIDE = 4;
/** Each channel's mean before normalization: the channels sit at different levels, as after a convolution. */
export const CHANNEL_MEANS: readonly number[] = [-3, 0, 2, 5];
/** Each channel's standard deviation before normalization. */
export const CHANNEL_STDS: readonly number[] = [0.5, 1, 2, 3];
/**
 * Sample n of N is shifted by `SAMPLE_SHIFT · (2n/(N−1) − 1)`, from −1 for the first to +1 for
 * the last, so per-sample and per-channel normalizers differ visibly.
 */
export const SAMPLE_SHIFT = 1;
/** The number of histogram bins. */
export const BINS = 24;

/** The normalizers the page offers, by the name shown. */
export const LIVE_NORMALIZERS = ['batch-norm', 'layer-norm', 'group-norm', 'instance-norm', 'rms-norm'] as const;

/** One of {@link LIVE_NORMALIZERS}. */
export type LiveNormalizer = (typeof LIVE_NORMALIZERS)[number];

/** What the reader picked. */
export interface LiveInput {
  /** Which normalizer. */
  readonly normalizer: LiveNormalizer;
  /** The batch size N. */
  readonly batchSize: number;
  /** The seed of the activations and of the upstream gradient. */
  readonly seed: number;
  /** Which kernels run: the WebAssembly SIMD backend (the default) or the TypeScript ones. */
  readonly kernels: 'wasm' | 'typescript';
}

/** A histogram over `[lo, hi]` in {@link BINS} equal bins. */
export interface Histogram {
  /** The left edge of the first bin. */
  readonly lo: number;
  /** The right edge of the last bin. */
  readonly hi: number;
  /** The number of values in each bin. */
  readonly counts: number[];
}

/** One channel's numbers (over the batch and the spatial positions). */
export interface ChannelStats {
  /** The channel index. */
  readonly channel: number;
  /** Mean of the channel's activations before. */
  readonly meanBefore: number;
  /** Standard deviation (biased) before. */
  readonly stdBefore: number;
  /** Mean after. */
  readonly meanAfter: number;
  /** Standard deviation (biased) after. */
  readonly stdAfter: number;
  /** Σ dx over the channel: 0 for batch norm, whose output does not move when a channel shifts. */
  readonly sumDx: number;
  /** Root mean square of dx over the channel. */
  readonly rmsDx: number;
  /** ∂L/∂γ for the channel's scale, `null` when the normalizer has no per-channel scale. */
  readonly dweight: number | null;
  /** ∂L/∂β for the channel's shift, `null` when it has no per-channel shift. */
  readonly dbias: number | null;
}

/** Everything the page shows. */
export interface LiveView {
  /** What was computed. */
  readonly input: LiveInput;
  /** The batch's shape `(N, C, H, W)`. */
  readonly shape: readonly number[];
  /** One line: what the normalizer computes, in words. */
  readonly description: string;
  /** Activations before (x) and after (y), over one common range. */
  readonly before: Histogram;
  /** See {@link LiveView.before}. */
  readonly after: Histogram;
  /** The upstream gradient dy and the gradient flowing back, dx, over one common range. */
  readonly upstream: Histogram;
  /** See {@link LiveView.upstream}. */
  readonly gradient: Histogram;
  /** Per channel. */
  readonly channels: readonly ChannelStats[];
}

interface Chosen {
  readonly plugin: Normalizer;
  readonly options: object;
  readonly description: string;
  /** Whether the parameters are per channel (then dγ, dβ are shown per channel). */
  readonly perChannel: boolean;
}

function choose(name: LiveNormalizer): Chosen {
  const featureShape = [CHANNELS, SIDE, SIDE];
  switch (name) {
    case 'batch-norm':
      return { plugin: batchNorm as unknown as Normalizer, options: { numFeatures: CHANNELS }, perChannel: true, description: 'statistics per channel, over the batch and the positions' };
    case 'layer-norm':
      return { plugin: layerNorm as unknown as Normalizer, options: { normalizedShape: featureShape }, perChannel: false, description: 'statistics per sample, over its channels and positions' };
    case 'group-norm':
      return { plugin: groupNorm as unknown as Normalizer, options: { numGroups: 2, numChannels: CHANNELS }, perChannel: true, description: 'statistics per sample and group of 2 channels' };
    case 'instance-norm':
      return { plugin: instanceNorm as unknown as Normalizer, options: { numFeatures: CHANNELS, affine: true }, perChannel: true, description: 'statistics per sample and channel, over the positions' };
    case 'rms-norm':
      return { plugin: rmsNorm as unknown as Normalizer, options: { normalizedShape: featureShape }, perChannel: false, description: 'root mean square per sample, no centering' };
  }
}

/** Seeded draws from exact arithmetic only (mulberry32, then a sum of four uniforms), so Node and a browser agree to the bit. */
function seededStream(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // Irwin–Hall with four terms: mean 2, variance 1/3; standardized.
  return () => (uniform() + uniform() + uniform() + uniform() - 2) * Math.sqrt(3);
}

/**
 * The page's batch: `x[n, c, h, w] = μ_c + σ_c z + s (2n/(N−1) − 1)` with seeded z of mean 0
 * and variance 1, in float32.
 *
 * @param batchSize - N
 * @param seed - the seed
 * @returns the tensor `(N, C, H, W)`
 */
export function liveBatch(batchSize: number, seed: number): Tensor {
  const next = seededStream(seed);
  const plane = SIDE * SIDE;
  const values = new Float64Array(batchSize * CHANNELS * plane);
  for (let n = 0, i = 0; n < batchSize; n++) {
    const shift = batchSize > 1 ? SAMPLE_SHIFT * ((2 * n) / (batchSize - 1) - 1) : 0;
    for (let c = 0; c < CHANNELS; c++) {
      for (let p = 0; p < plane; p++, i++) values[i] = CHANNEL_MEANS[c] + CHANNEL_STDS[c] * next() + shift;
    }
  }
  return fromArray(values, [batchSize, CHANNELS, SIDE, SIDE], 'float32');
}

/**
 * The upstream gradient the page sends back: seeded values of mean 0 and variance 1 on every
 * element, as from a loss `L = Σ dy ⊙ y` with a random direction dy, in float32.
 *
 * @param batchSize - N
 * @param seed - the seed
 * @returns the tensor `(N, C, H, W)`
 */
export function liveUpstreamGradient(batchSize: number, seed: number): Tensor {
  const next = seededStream(seed);
  const values = new Float64Array(batchSize * CHANNELS * SIDE * SIDE);
  for (let i = 0; i < values.length; i++) values[i] = next();
  return fromArray(values, [batchSize, CHANNELS, SIDE, SIDE], 'float32');
}

function histogram(values: readonly ArrayLike<number>[], index: number): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    for (let i = 0; i < v.length; i++) {
      lo = Math.min(lo, v[i]);
      hi = Math.max(hi, v[i]);
    }
  }
  if (hi === lo) hi = lo + 1;
  const counts = new Array<number>(BINS).fill(0);
  const data = values[index];
  for (let i = 0; i < data.length; i++) counts[Math.min(BINS - 1, Math.floor(((data[i] - lo) / (hi - lo)) * BINS))]++;
  return { lo, hi, counts };
}

/** Per channel of a row-major `(N, C, P)` array: mean, biased standard deviation, sum and RMS. */
function channelMoments(data: ArrayLike<number>, batchSize: number, plane: number, c: number): { mean: number; std: number; sum: number; rms: number } {
  let sum = 0;
  let sumSq = 0;
  for (let n = 0; n < batchSize; n++) {
    const start = (n * CHANNELS + c) * plane;
    for (let p = 0; p < plane; p++) sum += data[start + p];
  }
  const count = batchSize * plane;
  const mean = sum / count;
  let centered = 0;
  for (let n = 0; n < batchSize; n++) {
    const start = (n * CHANNELS + c) * plane;
    for (let p = 0; p < plane; p++) {
      const v = data[start + p];
      centered += (v - mean) * (v - mean);
      sumSq += v * v;
    }
  }
  return { mean, std: Math.sqrt(centered / count), sum, rms: Math.sqrt(sumSq / count) };
}

/**
 * Runs the reader's choice: a seeded batch through the normalizer (train mode), then
 * backward with a seeded upstream gradient dy (as from a loss `L = Σ dy ⊙ y`).
 *
 * @param input - the normalizer, batch size, seed and kernels
 * @returns histograms and per-channel statistics
 */
export function computeLiveView(input: LiveInput): LiveView {
  const chosen = choose(input.normalizer);
  const bound = chosen.plugin.create(chosen.options);
  const x = liveBatch(input.batchSize, input.seed);
  const dy = liveUpstreamGradient(input.batchSize, input.seed + 1);
  const wasEnabled = kernelBackendsEnabled();
  setKernelBackendsEnabled(input.kernels === 'wasm');
  let y: Tensor;
  let dx: Tensor;
  let grads: Record<string, Tensor | undefined>;
  try {
    const { params, state } = bound.init('float32');
    const forward = bound.forward({ x, params, state, mode: 'train' });
    const backward = bound.backward({ dy, params, saved: forward.saved });
    y = forward.y;
    dx = backward.dx;
    grads = backward.grads as Record<string, Tensor | undefined>;
  } finally {
    setKernelBackendsEnabled(wasEnabled);
  }
  const xs = toTypedArray(x);
  const ys = toTypedArray(y);
  const dys = toTypedArray(dy);
  const dxs = toTypedArray(dx);
  const plane = SIDE * SIDE;
  const weight = grads.weight === undefined ? null : toTypedArray(grads.weight);
  const bias = grads.bias === undefined ? null : toTypedArray(grads.bias);
  const channels: ChannelStats[] = [];
  for (let c = 0; c < CHANNELS; c++) {
    const before = channelMoments(xs, input.batchSize, plane, c);
    const after = channelMoments(ys, input.batchSize, plane, c);
    const gradient = channelMoments(dxs, input.batchSize, plane, c);
    channels.push({
      channel: c,
      meanBefore: before.mean,
      stdBefore: before.std,
      meanAfter: after.mean,
      stdAfter: after.std,
      sumDx: gradient.sum,
      rmsDx: gradient.rms,
      dweight: chosen.perChannel && weight !== null ? weight[c] : null,
      dbias: chosen.perChannel && bias !== null ? bias[c] : null,
    });
  }
  return {
    input,
    shape: x.shape.slice(),
    description: chosen.description,
    before: histogram([xs, ys], 0),
    after: histogram([xs, ys], 1),
    upstream: histogram([dys, dxs], 0),
    gradient: histogram([dys, dxs], 1),
    channels,
  };
}
