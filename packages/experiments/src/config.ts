import type { SweepNorm } from './cnn.js';
import { SWEEP_NORMS } from './cnn.js';
import type { NoiseOptions } from './layers/noisy-batch-norm.js';
import type { Variant } from './model.js';
import { ABLATIONS, VARIANTS } from './model.js';

/** Everything that defines one experiment. */
export interface ExperimentConfig {
  readonly name: 'full' | 'quick';
  /**
   * The seeds: every configuration runs once per seed. Seed s sets the initial weights (MLP
   * hidden layer h from seed 100·s + h), the batch order and the noise stream; the data split
   * is the same for every seed.
   */
  readonly seeds: readonly number[];
  /** MNIST samples per class for training and for testing. */
  readonly trainPerClass: number;
  readonly testPerClass: number;
  /** Seed of the data split. */
  readonly dataSeed: number;
  readonly depth: number;
  readonly hidden: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly learningRates: readonly number[];
  readonly momentum: number;
  readonly variants: readonly Variant[];
  /** Variants run at the largest learning rate only, to isolate the causes of its failures. */
  readonly ablations: readonly Variant[];
  readonly evalEvery: number;
  /** Variants whose landscape and curvature are probed. */
  readonly landscapeVariants: readonly Variant[];
  readonly landscapeEvery: number;
  readonly landscapeEtas: readonly number[];
  /** The top Hessian eigenvalue: every this many steps, power iteration with these limits. */
  readonly curvature: { readonly every: number; readonly maxIterations: number; readonly tolerance: number };
  /** The per-block trace: the first this many steps of every run at the largest learning rate. */
  readonly traceSteps: number;
  /** Steps at which the gradient is checked by finite differences (runs at the largest learning rate). */
  readonly gradCheckSteps: readonly number[];
  /** PreciseBN after training (batch norm, every learning rate): K values and the calibration batch size. */
  readonly preciseBn: { readonly ks: readonly number[]; readonly batchSize: number };
  /** The batch-size sweep on the small CNN. */
  readonly sweep: {
    readonly norms: readonly SweepNorm[];
    readonly batchSizes: readonly number[];
    /** Training samples per run (every batch size sees the same number). */
    readonly samples: number;
    readonly baseLr: number;
    readonly baseBatch: number;
    readonly momentum: number;
    readonly channels: readonly [number, number, number];
    readonly channelsPerGroup: number;
    readonly statsMomentum: number;
    readonly preciseBn: { readonly batches: number; readonly batchSize: number };
  };
  /** Moving-average window of the training-loss plot. */
  readonly smoothing: number;
  readonly noise: NoiseOptions;
}

const etas = (from: number, to: number, count: number): number[] =>
  Array.from({ length: count }, (_, k) => Number((from + ((to - from) * k) / (count - 1)).toFixed(6)));

/** The full run (`npm run experiment`): sized to finish within 20 minutes on 2 cores. */
export const FULL: ExperimentConfig = {
  name: 'full',
  seeds: [1, 2, 3, 4, 5],
  trainPerClass: 700,
  testPerClass: 150,
  dataSeed: 3,
  depth: 8,
  hidden: 64,
  batchSize: 100,
  steps: 500,
  learningRates: [0.02, 0.5],
  momentum: 0.9,
  variants: VARIANTS,
  ablations: ABLATIONS,
  evalEvery: 50,
  landscapeVariants: ['none', 'batch-norm'],
  landscapeEvery: 50,
  landscapeEtas: etas(0.05, 0.4, 8),
  curvature: { every: 100, maxIterations: 20, tolerance: 1e-3 },
  traceSteps: 100,
  gradCheckSteps: [0, 2, 100],
  preciseBn: { ks: [1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 50], batchSize: 100 },
  sweep: {
    norms: SWEEP_NORMS,
    batchSizes: [2, 4, 8, 16, 32, 128],
    samples: 8000,
    baseLr: 0.1,
    baseBatch: 32,
    momentum: 0.9,
    channels: [4, 8, 16],
    channelsPerGroup: 2,
    statsMomentum: 0.1,
    preciseBn: { batches: 50, batchSize: 32 },
  },
  smoothing: 20,
  noise: { shift: 1, scaleLow: 0.5, scaleHigh: 1.5, jitter: 0.1, seed: 2018 },
};

/** The reduced run for tests: the same pipeline on small networks, few steps and 2 seeds. */
export const QUICK: ExperimentConfig = {
  ...FULL,
  name: 'quick',
  seeds: [1, 2],
  trainPerClass: 30,
  testPerClass: 10,
  depth: 3,
  hidden: 16,
  batchSize: 30,
  steps: 12,
  evalEvery: 6,
  landscapeEvery: 6,
  landscapeEtas: etas(0.1, 0.4, 2),
  curvature: { every: 6, maxIterations: 4, tolerance: 1e-3 },
  traceSteps: 4,
  gradCheckSteps: [0, 2],
  preciseBn: { ks: [1, 2, 4], batchSize: 30 },
  sweep: {
    ...FULL.sweep,
    batchSizes: [2, 16],
    samples: 32,
    channels: [4, 4, 8],
    channelsPerGroup: 2,
    preciseBn: { batches: 2, batchSize: 16 },
  },
  smoothing: 3,
};
