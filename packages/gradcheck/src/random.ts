import { fromArray, sizeOf } from '@normkit/core';
import type { Dtype, Shape, Tensor } from '@normkit/core';

/** A stream of pseudo-random numbers: each call returns the next one. */
export type Rng = () => number;

/**
 * A seeded uniform generator on [0, 1) (mulberry32, a 32-bit state): the same seed gives
 * the same stream on every platform.
 *
 * @param seed - any number; only its low 32 bits matter
 */
export function uniformRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded standard normal generator: Box–Muller over {@link uniformRng},
 * z₀ = √(−2 ln(1 − u₁))·cos(2πu₂), z₁ = √(−2 ln(1 − u₁))·sin(2πu₂), both used.
 *
 * @param seed - any number; only its low 32 bits matter
 */
export function normalRng(seed: number): Rng {
  const u = uniformRng(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const theta = 2 * Math.PI * u();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/**
 * A 32-bit seed derived from a base seed and labels (FNV-1a over their text), so each
 * random draw of a check (input, parameters, burn-in batch, cotangent…) has its own stream
 * and adding a draw does not shift the others.
 *
 * @param parts - the base seed first, then any labels
 */
export function deriveSeed(...parts: readonly (string | number)[]): number {
  let hash = 0x811c9dc5;
  const text = parts.join('\u0001');
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** `size` values drawn from `rng`, as a new `Float64Array`. */
export function randomValues(size: number, rng: Rng): Float64Array {
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) values[i] = rng();
  return values;
}

/**
 * A new row-major tensor of N(0, 1) values.
 *
 * @param shape - the shape
 * @param seed - the seed of the stream
 * @param dtype - `'float64'` (default) or `'float32'`
 */
export function randomNormalTensor(shape: Shape, seed: number, dtype: Dtype = 'float64'): Tensor {
  return fromArray(randomValues(sizeOf(shape), normalRng(seed)), shape, dtype);
}

/**
 * `count` distinct indices in [0, n), ascending, drawn uniformly (a partial Fisher–Yates
 * shuffle). All of [0, n) when `count ≥ n`.
 *
 * @param n - the population size
 * @param count - how many to draw
 * @param rng - a uniform generator on [0, 1)
 */
export function sampleIndices(n: number, count: number, rng: Rng): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const pool = new Map<number, number>();
  const chosen: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const atJ = pool.get(j) ?? j;
    pool.set(j, pool.get(i) ?? i);
    chosen.push(atJ);
  }
  return chosen.sort((a, b) => a - b);
}
