import { Cnn } from './cnn.js';
import type { SweepNorm } from './cnn.js';
import type { Dataset } from './data.js';
import { crossEntropy } from './layers/softmax-cross-entropy.js';
import { SgdMomentum } from './optim.js';
import { preciseBnCurve } from './precise-bn.js';
import { Rng, mixSeed, permutation } from './random.js';
import { batchAt, evaluate } from './train.js';
import type { InputShape } from './train.js';

/** The image input of the CNN: `(n, 1, 28, 28)`. */
export const imageBatch: InputShape = (n) => [n, 1, 28, 28];

/** One run of the batch-size sweep. */
export interface SweepRunConfig {
  readonly norm: SweepNorm;
  readonly batchSize: number;
  readonly seed: number;
  /** Training samples seen (the same for every batch size: Wu & He train every batch size for the same epochs). */
  readonly samples: number;
  /** lr = baseLr · batchSize / baseBatch (Goyal et al.'s linear scaling, as Wu & He). */
  readonly baseLr: number;
  readonly baseBatch: number;
  readonly momentum: number;
  readonly channels: readonly [number, number, number];
  readonly channelsPerGroup: number;
  readonly statsMomentum: number;
  /** PreciseBN after training for the batch-statistics normalizers: K batches of this size, or null. */
  readonly preciseBn: { readonly batches: number; readonly batchSize: number } | null;
}

/** What one sweep run gives. */
export interface SweepRunResult {
  readonly norm: SweepNorm;
  readonly batchSize: number;
  readonly seed: number;
  readonly steps: number;
  readonly lr: number;
  /** Test error (1 − accuracy) at the end, in eval mode. */
  readonly testError: number;
  /** Mean training loss over the last 10% of the steps (null if a loss was not finite). */
  readonly finalTrainLoss: number | null;
  readonly diverged: boolean;
  /** Test error with PreciseBN statistics (batch norm and batch renorm), or null. */
  readonly preciseBnTestError: number | null;
  readonly seconds: number;
}

/** The number of steps of a sweep run: ⌈samples / batchSize⌉. */
export const sweepSteps = (c: Pick<SweepRunConfig, 'samples' | 'batchSize'>): number => Math.ceil(c.samples / c.batchSize);

/**
 * Trains the small CNN ({@link Cnn}) with one normalizer at one batch size for a fixed
 * number of samples, then measures the test error in eval mode.
 */
export function sweepRun(config: SweepRunConfig, data: { train: Dataset; test: Dataset }, onStep: (done: number) => void = () => {}): SweepRunResult {
  const started = performance.now();
  const steps = sweepSteps(config);
  const lr = (config.baseLr * config.batchSize) / config.baseBatch;
  const model = new Cnn(config.norm, { channels: config.channels, channelsPerGroup: config.channelsPerGroup, classes: 10, seed: 100 * config.seed, steps, statsMomentum: config.statsMomentum, dtype: 'float32' });
  const optimizer = new SgdMomentum(model.parameters(), { lr, momentum: config.momentum });
  let perm = permutation(data.train.count, new Rng(mixSeed(config.seed, 0x7377, 0)));
  let epoch = 0;
  let cursor = 0;
  const losses: number[] = [];
  let diverged = false;
  for (let step = 0; step < steps; step++) {
    if (cursor + config.batchSize > data.train.count) {
      epoch++;
      perm = permutation(data.train.count, new Rng(mixSeed(config.seed, 0x7377, epoch)));
      cursor = 0;
    }
    const { x, labels } = batchAt(data.train, perm, cursor, config.batchSize, imageBatch);
    cursor += config.batchSize;
    model.zeroGrad();
    const r = crossEntropy(model.forward(x), labels, 10);
    if (!Number.isFinite(r.loss)) {
      diverged = true;
      onStep(steps);
      break;
    }
    model.backward(r.dLogits);
    optimizer.step();
    losses.push(r.loss);
    onStep(step + 1);
  }
  const tail = losses.slice(Math.floor(0.9 * losses.length));
  const testError = diverged ? 0.9 : 1 - evaluate(model, data.test, imageBatch).accuracy;
  let preciseBnTestError: number | null = null;
  if (!diverged && config.preciseBn !== null && (config.norm === 'batch-norm' || config.norm === 'batch-renorm')) {
    const p = config.preciseBn;
    const calibration = permutation(data.train.count, new Rng(mixSeed(config.seed, 0x7072)));
    const batches = Array.from({ length: p.batches }, (_, k) => batchAt(data.train, calibration, k * p.batchSize, p.batchSize, imageBatch).x);
    const curve = preciseBnCurve(model, model.normIndices, batches, [p.batches], () => evaluate(model, data.test, imageBatch).accuracy);
    preciseBnTestError = 1 - curve.accuracies[0];
  }
  return {
    norm: config.norm,
    batchSize: config.batchSize,
    seed: config.seed,
    steps,
    lr,
    testError,
    finalTrainLoss: diverged || tail.length === 0 ? null : tail.reduce((a, b) => a + b, 0) / tail.length,
    diverged,
    preciseBnTestError,
    seconds: (performance.now() - started) / 1000,
  };
}
