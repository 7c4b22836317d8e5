import type { FloatArray } from '@normkit/core';
import type { Workload } from './workloads.js';
import { elementCount, hasBackward, parameterCount } from './workloads.js';

/**
 * The inputs of one workload, shared by every implementation (row-major, the workload's
 * dtype). Batch norm: `x` with channel axis 1, `gamma`/`beta` per channel, running
 * statistics for eval. Layer norm: `gamma`/`beta` per feature. Weight norm: `x` is the
 * direction `v`, `gamma` is the magnitude `g` (one per row), `dy` is `dw`.
 */
export interface WorkloadData {
  /** The input (`v` for weight norm). */
  readonly x: FloatArray;
  /** The upstream gradient, for workloads with a backward pass. */
  readonly dy: FloatArray | null;
  /** γ (weight) per channel/feature, or `g` per row for weight norm. */
  readonly gamma: FloatArray;
  /** β per channel/feature (zeros-free random values; unused by weight norm). */
  readonly beta: FloatArray;
  /** Running mean per channel (batch norm eval). */
  readonly runningMean: FloatArray;
  /** Running (unbiased) variance per channel, > 0 (batch norm eval). */
  readonly runningVar: FloatArray;
  /** ε of batch and layer norm. */
  readonly eps: number;
}

/** A small, fast, seeded PRNG (mulberry32) returning uniforms in [0, 1). */
export function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with `mean + std·N(0, 1)` samples (Box–Muller) from a seeded source. */
export function fillNormal(out: FloatArray, seed: number, mean = 0, std = 1): FloatArray {
  const next = uniformSource(seed);
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * Deterministic inputs for a workload: `x ~ 0.5 + 1.5·N(0,1)` (an offset mean, so
 * centring matters), `dy ~ N(0,1)`, `γ ~ 1 + 0.1·N`, `β ~ 0.1·N`, running mean
 * `≈ 0.5`, running variance `≈ 2.25`.
 */
export function makeWorkloadData(workload: Workload): WorkloadData {
  const Ctor = workload.dtype === 'float32' ? Float32Array : Float64Array;
  const n = elementCount(workload);
  const p = parameterCount(workload);
  const runningVar = fillNormal(new Ctor(p), 6, 2.25, 0.1);
  for (let i = 0; i < p; i++) runningVar[i] = Math.abs(runningVar[i]) + 0.5;
  return {
    x: fillNormal(new Ctor(n), 1, 0.5, 1.5),
    dy: hasBackward(workload) ? fillNormal(new Ctor(n), 2) : null,
    gamma: fillNormal(new Ctor(p), 3, 1, 0.1),
    beta: fillNormal(new Ctor(p), 4, 0, 0.1),
    runningMean: fillNormal(new Ctor(p), 5, 0.5, 0.1),
    runningVar,
    eps: 1e-5,
  };
}

/**
 * Transposes a row-major NCHW buffer to NHWC (or, with `inverse`, NHWC back to NCHW).
 *
 * @param source - the values
 * @param shape - the NCHW shape `(N, C, H, W)` in both directions
 * @param inverse - NHWC → NCHW instead
 */
export function transposeNchw(source: ArrayLike<number>, shape: readonly number[], inverse = false): Float32Array {
  const [n, c, h, w] = shape;
  const hw = h * w;
  const out = new Float32Array(n * c * hw);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const nchwBase = (b * c + ch) * hw;
      const nhwcBase = b * hw * c + ch;
      for (let s = 0; s < hw; s++) {
        if (inverse) out[nchwBase + s] = source[nhwcBase + s * c];
        else out[nhwcBase + s * c] = source[nchwBase + s];
      }
    }
  }
  return out;
}
