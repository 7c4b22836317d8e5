import type { NoiseOptions } from './layers/noisy-batch-norm.js';
import type { Variant } from './model.js';
import { VARIANTS } from './model.js';

/** Everything that defines one experiment. */
export interface ExperimentConfig {
  readonly name: 'full' | 'quick';
  /** MNIST samples per class for training and for testing. */
  readonly trainPerClass: number;
  readonly testPerClass: number;
  readonly depth: number;
  readonly hidden: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly learningRates: readonly number[];
  readonly momentum: number;
  readonly variants: readonly Variant[];
  readonly evalEvery: number;
  /** Variants whose landscape is probed. */
  readonly landscapeVariants: readonly Variant[];
  readonly landscapeEvery: number;
  readonly landscapeEtas: readonly number[];
  /** Moving-average window of the training-loss plot. */
  readonly smoothing: number;
  readonly noise: NoiseOptions;
  /** Seeds: initial weights, batch order, data split. */
  readonly seeds: { readonly weights: number; readonly batches: number; readonly data: number };
}

const etas = (from: number, to: number, count: number): number[] =>
  Array.from({ length: count }, (_, k) => Number((from + ((to - from) * k) / (count - 1)).toFixed(6)));

/** The full run: 8 hidden layers of 128 units, 7,000 training and 1,500 test digits. */
export const FULL: ExperimentConfig = {
  name: 'full',
  trainPerClass: 700,
  testPerClass: 150,
  depth: 8,
  hidden: 128,
  batchSize: 100,
  steps: 500,
  learningRates: [0.02, 0.5],
  momentum: 0.9,
  variants: VARIANTS,
  evalEvery: 50,
  landscapeVariants: ['none', 'batch-norm'],
  landscapeEvery: 50,
  landscapeEtas: etas(0.05, 0.4, 8),
  smoothing: 20,
  noise: { shift: 1, scaleLow: 0.5, scaleHigh: 1.5, jitter: 0.1, seed: 2018 },
  seeds: { weights: 1, batches: 2, data: 3 },
};

/** The reduced run for tests: the same pipeline on a small network and a few steps. */
export const QUICK: ExperimentConfig = {
  ...FULL,
  name: 'quick',
  trainPerClass: 60,
  testPerClass: 20,
  depth: 3,
  hidden: 32,
  batchSize: 50,
  steps: 30,
  evalEvery: 10,
  landscapeEvery: 10,
  landscapeEtas: etas(0.1, 0.4, 3),
  smoothing: 5,
};
