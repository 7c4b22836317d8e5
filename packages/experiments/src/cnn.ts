import type { Dtype, Layer } from '@normkit/core';
import { BatchNorm } from '@normkit/batch-norm';
import { BatchRenorm, batchRenormSchedule } from '@normkit/batch-renorm';
import { GroupNorm } from '@normkit/group-norm';
import { LayerNorm } from '@normkit/layer-norm';
import { Conv2d, convOutputSize } from './layers/conv2d.js';
import { Dense } from './layers/dense.js';
import { Flatten } from './layers/flatten.js';
import { Relu } from './layers/relu.js';
import { Network } from './network.js';

/** The normalizers of the batch-size sweep (Wu & He 2018, Fig. 1). */
export const SWEEP_NORMS = ['batch-norm', 'group-norm', 'layer-norm', 'batch-renorm'] as const;
/** One of them. */
export type SweepNorm = (typeof SWEEP_NORMS)[number];

/** The small CNN of the sweep. */
export interface CnnConfig {
  /** Output channels of the three 3×3, stride-2 convolutions. */
  readonly channels: readonly [number, number, number];
  /** Channels per group of group norm (G = C / this). */
  readonly channelsPerGroup: number;
  readonly classes: number;
  /** Seed of the initial weights (convolution l draws from seed + l). */
  readonly seed: number;
  /** Training steps of the run: batch renorm's ramp of rmax and dmax is scaled to it. */
  readonly steps: number;
  /** Momentum of the running statistics (batch norm and batch renorm). */
  readonly statsMomentum: number;
  readonly dtype: Dtype;
}

/**
 * The batch renorm ramp scaled to a run of `steps` steps: plain batch norm for the first
 * 10%, dmax reaching 5 at 50% and rmax reaching 3 at 80% (the paper: 5k, 25k and 40k steps).
 */
export function scaledRenormSchedule(steps: number) {
  const warmupSteps = Math.max(1, Math.round(0.1 * steps));
  return batchRenormSchedule({ warmupSteps, dmaxSteps: Math.max(warmupSteps + 1, Math.round(0.5 * steps)), rmaxSteps: Math.max(warmupSteps + 1, Math.round(0.8 * steps)) });
}

/**
 * A small CNN for 28×28 digits: three blocks `conv 3×3 stride 2 (no bias) → norm → ReLU`
 * (28 → 14 → 7 → 4 pixels), then the last block's C × 4 × 4 values flattened into a dense
 * layer to the logits.
 *
 * - `batch-norm`: per channel over (N, H, W), running statistics in eval;
 * - `group-norm`: per sample over groups of `channelsPerGroup` channels × (H, W);
 * - `layer-norm`: per sample over (C, H, W), normkit's `LayerNorm` with
 *   `normalizedShape [C, H, W]` (a per-element γ and β, as PyTorch's `nn.LayerNorm`; Wu & He's
 *   layer norm is group norm with one group and per-channel γ, β);
 * - `batch-renorm`: Ioffe's correction towards the running statistics, ramp {@link scaledRenormSchedule}.
 */
export class Cnn extends Network {
  readonly norm: SweepNorm;
  readonly config: CnnConfig;
  /** The indices of the normalization layers in {@link Network.layers}. */
  readonly normIndices: number[];

  constructor(norm: SweepNorm, config: CnnConfig) {
    const init = { dtype: config.dtype };
    const layers: Layer[] = [];
    const normIndices: number[] = [];
    let inChannels = 1;
    let size = 28;
    config.channels.forEach((c, l) => {
      layers.push(new Conv2d({ inChannels, outChannels: c, kernelSize: 3, stride: 2, padding: 1, bias: false, seed: config.seed + l, inputGrad: l > 0 }, init));
      size = convOutputSize(size, 3, 2, 1);
      normIndices.push(layers.length);
      if (norm === 'batch-norm') layers.push(new BatchNorm({ numFeatures: c, momentum: config.statsMomentum }, init));
      if (norm === 'group-norm') layers.push(new GroupNorm({ numGroups: c / config.channelsPerGroup, numChannels: c }, init));
      if (norm === 'layer-norm') layers.push(new LayerNorm({ normalizedShape: [c, size, size] }, init));
      if (norm === 'batch-renorm') layers.push(new BatchRenorm({ numFeatures: c, momentum: config.statsMomentum, ...scaledRenormSchedule(config.steps) }, init));
      layers.push(new Relu(init));
      inChannels = c;
    });
    layers.push(new Flatten(init));
    layers.push(new Dense({ inFeatures: inChannels * size * size, outFeatures: config.classes, seed: config.seed + config.channels.length }, init));
    super(layers, config.classes);
    this.norm = norm;
    this.config = config;
    this.normIndices = normIndices;
  }
}
