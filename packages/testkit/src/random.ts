import { fromArray } from '@normkit/core';
import type { Dtype, Shape, Tensor } from '@normkit/core';
import { normalRng, uniformRng } from '@normkit/gradcheck';

/** A seeded uniform generator on [0, 1): gradcheck's mulberry32 stream. */
export function uniform(seed: number): () => number {
  return uniformRng(seed);
}

/** A seeded standard normal generator: gradcheck's Box–Muller stream. */
export function normal(seed: number): () => number {
  return normalRng(seed);
}

/**
 * A row-major tensor of N(mean, std²) values, rounded to float32 first so the same
 * numbers load exactly in either dtype.
 */
export function randn(shape: Shape, seed: number, dtype: Dtype = 'float64', mean = 0, std = 1): Tensor {
  const next = normalRng(seed);
  let size = 1;
  for (const d of shape) size *= d;
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) values[i] = Math.fround(mean + std * next());
  return fromArray(values, shape, dtype);
}
