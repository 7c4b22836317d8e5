import { fromArray } from '@normkit/core';
import type { Dtype, Shape, Tensor } from '@normkit/core';

/** A seeded uniform generator on [0, 1) (mulberry32): the same seed gives the same stream. */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded standard normal generator (Box–Muller over {@link uniform}). */
export function normal(seed: number): () => number {
  const u = uniform(seed);
  return () => {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    return r * Math.cos(2 * Math.PI * u());
  };
}

/**
 * A row-major tensor of N(mean, std²) values, rounded to float32 first so the same
 * numbers load exactly in either dtype.
 */
export function randn(shape: Shape, seed: number, dtype: Dtype = 'float64', mean = 0, std = 1): Tensor {
  const next = normal(seed);
  let size = 1;
  for (const d of shape) size *= d;
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) values[i] = Math.fround(mean + std * next());
  return fromArray(values, shape, dtype);
}
