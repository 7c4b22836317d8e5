import { createRequire } from 'node:module';
import type { FloatArray } from '@normkit/core';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import type { Implementation, Outputs, PreparedRun } from './types.js';

/** Scratch of the 2-D and NCHW tuned batch-norm loops (`makeWs(C)` in ref.cjs). */
interface RefWorkspace {
  readonly s: Float64Array;
  readonly q: Float64Array;
  readonly k: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly c: Float64Array;
}

/** Scratch of the tuned layer-norm backward: per-feature dγ and dβ accumulators. */
interface LayerNormWorkspace {
  readonly dg: Float64Array;
  readonly db: Float64Array;
}

type Arr = FloatArray;

/** The tuned functions of `ref/ref.cjs` the benchmark calls (signatures as in the file). */
export interface ReferenceLoops {
  makeWs(channels: number): RefWorkspace;
  bn2dFwdTuned(x: Arr, N: number, C: number, gamma: Arr, beta: Arr, eps: number, y: Arr, mean: Float64Array, invstd: Float64Array, ws: RefWorkspace): void;
  bn2dBwdTuned(x: Arr, dy: Arr, N: number, C: number, gamma: Arr, mean: Float64Array, invstd: Float64Array, dx: Arr, dgamma: Arr, dbeta: Arr, ws: RefWorkspace): void;
  bnNchwFwdTunedSeq(x: Arr, N: number, C: number, HW: number, gamma: Arr, beta: Arr, eps: number, y: Arr, mean: Float64Array, invstd: Float64Array, ws: RefWorkspace): void;
  bnNchwBwdTunedSeq(x: Arr, dy: Arr, N: number, C: number, HW: number, gamma: Arr, mean: Float64Array, invstd: Float64Array, dx: Arr, dgamma: Arr, dbeta: Arr, ws: RefWorkspace): void;
  bnNchwEvalTuned(x: Arr, N: number, C: number, HW: number, gamma: Arr, beta: Arr, rmean: Arr, rvar: Arr, eps: number, y: Arr, ws: RefWorkspace): void;
  lnFwdTuned(x: Arr, R: number, D: number, gamma: Arr, beta: Arr, eps: number, y: Arr, mean: Float64Array, rstd: Float64Array): void;
  lnBwdTuned(x: Arr, dy: Arr, R: number, D: number, gamma: Arr, mean: Float64Array, rstd: Float64Array, dx: Arr, dgamma: Arr, dbeta: Arr, ws: LayerNormWorkspace): void;
}

let loops: ReferenceLoops | null = null;

/**
 * Loads the vendored reference loops (`packages/bench/ref/ref.cjs`, CommonJS) with
 * `createRequire`; the path is the same from `src/impls` (tests) and `dist/impls` (the CLI).
 */
export function referenceLoops(): ReferenceLoops {
  loops ??= createRequire(import.meta.url)('../../ref/ref.cjs') as ReferenceLoops;
  return loops;
}

/** Why js-ref cannot run a workload, or `null`. */
function unsupported(workload: Workload): string | null {
  switch (workload.op) {
    case 'batch-norm-train-forward':
    case 'batch-norm-train-forward-backward':
    case 'batch-norm-eval-forward':
      return workload.shape.length === 2 || workload.shape.length === 4 ? null : 'ref.cjs has batch norm on (N, C) and NCHW only';
    case 'layer-norm-forward':
    case 'layer-norm-forward-backward':
      return workload.shape.length === 2 ? null : 'ref.cjs has layer norm on (rows, features) only';
    default:
      return 'ref.cjs has batch-norm and layer-norm loops only';
  }
}

/**
 * `js-ref`: the tuned plain-JS loops of `ref/ref.cjs` (float64 accumulators, per-channel
 * constants hoisted, loops in memory order unrolled by 4, no allocation), run in the
 * benchmark's process on the benchmark's data and buffers allocated once — the anchor for the
 * plain-TypeScript kernels:
 *
 * - batch norm (N, C): `bn2dFwdTuned` (+ `bn2dBwdTuned`); NCHW: the memory-order variants
 *   `bnNchwFwdTunedSeq` + `bnNchwBwdTunedSeq` (as bench_c.c's default), and `bnNchwEvalTuned`;
 * - layer norm: `lnFwdTuned` (+ `lnBwdTuned`).
 *
 * Train batch norm does not update running statistics here (O(C) work normkit does).
 */
export const jsReference: Implementation = {
  name: 'js-ref',
  description: 'the tuned plain-JS loops of ref/ref.cjs (vendored from the machine-measurement kit), in this process',
  unsupported,
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    const ref = referenceLoops();
    const { shape } = workload;
    const Ctor = workload.dtype === 'float32' ? Float32Array : Float64Array;
    const p = parameterCount(workload);
    const { x, dy, gamma, beta, eps } = data;
    const y = new Ctor(x.length);
    const dx = new Ctor(x.length);
    const dweight = new Ctor(p);
    const dbias = new Ctor(p);
    let step: () => Outputs;
    if (workload.op.startsWith('layer-norm')) {
      const [rows, features] = shape;
      const mean = new Float64Array(rows);
      const rstd = new Float64Array(rows);
      const ws: LayerNormWorkspace = { dg: new Float64Array(features), db: new Float64Array(features) };
      step = (): Outputs => {
        ref.lnFwdTuned(x, rows, features, gamma, beta, eps, y, mean, rstd);
        if (dy === null) return { y };
        ref.lnBwdTuned(x, dy, rows, features, gamma, mean, rstd, dx, dweight, dbias, ws);
        return { y, dx, dweight, dbias };
      };
    } else {
      const [n, c] = shape;
      const hw = shape.length === 4 ? shape[2] * shape[3] : 1;
      const mean = new Float64Array(c);
      const invstd = new Float64Array(c);
      const ws = ref.makeWs(c);
      if (workload.op === 'batch-norm-eval-forward') {
        step = (): Outputs => {
          ref.bnNchwEvalTuned(x, n, c, hw, gamma, beta, data.runningMean, data.runningVar, eps, y, ws);
          return { y };
        };
      } else if (shape.length === 2) {
        step = (): Outputs => {
          ref.bn2dFwdTuned(x, n, c, gamma, beta, eps, y, mean, invstd, ws);
          if (dy === null) return { y };
          ref.bn2dBwdTuned(x, dy, n, c, gamma, mean, invstd, dx, dweight, dbias, ws);
          return { y, dx, dweight, dbias };
        };
      } else {
        step = (): Outputs => {
          ref.bnNchwFwdTunedSeq(x, n, c, hw, gamma, beta, eps, y, mean, invstd, ws);
          if (dy === null) return { y };
          ref.bnNchwBwdTunedSeq(x, dy, n, c, hw, gamma, mean, invstd, dx, dweight, dbias, ws);
          return { y, dx, dweight, dbias };
        };
      }
    }
    return {
      run: () => {
        step();
      },
      outputs: async () => Object.fromEntries(Object.entries(step()).map(([name, values]) => [name, (values as FloatArray).slice()])),
      dispose: async () => {},
    };
  },
};
