import { NormkitError, nodeBuiltin } from '@normkit/core';
import type { KernelExports } from './kernels.js';
import { kernelModule } from './kernels.js';
import type { WasmPool } from './pool.js';
import { ARGS_OFFSET, CONTROL_BYTES, DONE, EXPORT_NAMES, KERNEL, REQUEST, SPIN_ITERATIONS, STOP } from './protocol.js';
import type { ExportName } from './protocol.js';

/** Default smallest tensor split over two threads: 256 Ki elements (1 MiB of float32). */
export const DEFAULT_THREAD_THRESHOLD = 262144;

/**
 * Node's `worker_threads`, reached at run time (not imported, so that bundles for the web
 * carry no Node import), or `undefined` off Node.
 */
export function workerThreads(): typeof import('node:worker_threads') | undefined {
  return nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
}

/** The error for `threads: 2` where Node's `worker_threads` is absent (a browser). */
export function threadsNeedNode(): NormkitError {
  return new NormkitError(
    'E_OPTION',
    "threads: 2 runs the second thread on Node's worker_threads, which this host lacks (a browser); use threads: 1 there",
    'threads',
  );
}

/** The second thread. */
export interface Threads {
  /**
   * Runs `kernel` split over both threads (the worker takes the second half, this thread
   * the first, partial sums are merged here). Returns false, having done nothing, when the
   * tensor has fewer than the threshold's elements or cannot be split.
   */
  split(kernel: ExportName, args: readonly number[], size: number): boolean;
  /** Stops the worker. */
  terminate(): Promise<void>;
}

type Half = { a: number[]; b: number[]; merge?: () => void };

/**
 * Starts the worker on `pool`'s shared memory. The worker spins on the request word for
 * {@link SPIN_ITERATIONS} polls before sleeping; this thread spins while it waits for the
 * worker's half (then sleeps too).
 */
export async function startThreads(pool: WasmPool, k: KernelExports, threshold: number): Promise<Threads> {
  const Worker = workerThreads()?.Worker;
  if (Worker === undefined) throw threadsNeedNode();
  const module = await kernelModule('shared');
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ctl = new Int32Array(control, 0, 8);
  const slots = new Float64Array(control, ARGS_OFFSET, 16);
  const worker = new Worker(new URL('../dist/worker.js', import.meta.url), { workerData: { module, memory: pool.memory, control } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.unref();

  let partial = 0;
  let partialBytes = 0;
  /** Float64 scratch for the worker's partial sums (two arrays of n). */
  function partials(n: number): [number, number] | null {
    const bytes = Math.ceil((n * 8) / 16) * 16;
    if (2 * bytes > partialBytes) {
      if (partial !== 0) pool.freeRaw(partial);
      partial = pool.allocateRaw(2 * bytes) ?? 0;
      partialBytes = partial === 0 ? 0 : 2 * bytes;
      if (partial === 0) return null;
    }
    return [partial, partial + bytes];
  }
  const f64 = pool.f64;
  const addInto = (dst: number, src: number, n: number) => {
    const d = dst >> 3;
    const s = src >> 3;
    for (let i = 0; i < n; i++) f64[d + i] += f64[s + i];
  };

  function plan(kernel: ExportName, v: readonly number[]): Half | null {
    switch (kernel) {
      case 'bnNormalize':
      case 'bnInputGradient': {
        const grad = kernel === 'bnInputGradient';
        const [x, dy] = [v[0], grad ? v[1] : 0];
        const o = grad ? 1 : 0;
        const [outer, channels, inner] = [v[1 + o], v[2 + o], v[3 + o]];
        const consts = grad ? v.slice(5, 10) : v.slice(4, 8);
        const out = v[v.length - 1];
        const bytesPerOuter = channels * inner * 4;
        if (outer >= 2) {
          const o1 = outer >> 1;
          const shift = o1 * bytesPerOuter;
          const a = grad ? [x, dy, o1, channels, inner, ...consts, out] : [x, o1, channels, inner, ...consts, out];
          const b = grad
            ? [x + shift, dy + shift, outer - o1, channels, inner, ...consts, out + shift]
            : [x + shift, outer - o1, channels, inner, ...consts, out + shift];
          return { a, b };
        }
        if (channels < 2) return null;
        const c1 = channels >> 1;
        const shift = c1 * inner * 4;
        const cb = consts.map((p) => p + 4 * c1);
        const a = grad ? [x, dy, 1, c1, inner, ...consts, out] : [x, 1, c1, inner, ...consts, out];
        const b = grad ? [x + shift, dy + shift, 1, channels - c1, inner, ...cb, out + shift] : [x + shift, 1, channels - c1, inner, ...cb, out + shift];
        return { a, b };
      }
      case 'bnGradientSums': {
        const [x, dy, outer, channels, inner, mean, s, t] = v;
        if (outer >= 2) {
          const o1 = outer >> 1;
          const shift = o1 * channels * inner * 4;
          const p = partials(channels);
          if (p === null) return null;
          return {
            a: [x, dy, o1, channels, inner, mean, s, t],
            b: [x + shift, dy + shift, outer - o1, channels, inner, mean, p[0], p[1]],
            merge: () => {
              addInto(s, p[0], channels);
              addInto(t, p[1], channels);
            },
          };
        }
        if (channels < 2) return null;
        const c1 = channels >> 1;
        const shift = c1 * inner * 4;
        return {
          a: [x, dy, 1, c1, inner, mean, s, t],
          b: [x + shift, dy + shift, 1, channels - c1, inner, mean + 8 * c1, s + 8 * c1, t + 8 * c1],
        };
      }
      case 'moments': {
        const [x, outer, groups, inner, mean, variance] = v;
        if (outer >= 2) {
          const o1 = outer >> 1;
          const p = partials(groups);
          if (p === null) return null;
          return {
            a: [x, o1, groups, inner, mean, variance],
            b: [x + o1 * groups * inner * 4, outer - o1, groups, inner, p[0], p[1]],
            merge: () => {
              // Chan's merge of the two halves' (count, mean, biased variance).
              const nA = o1 * inner;
              const nB = (outer - o1) * inner;
              const n = nA + nB;
              const m = mean >> 3;
              const va = variance >> 3;
              const pm = p[0] >> 3;
              const pv = p[1] >> 3;
              for (let g = 0; g < groups; g++) {
                const delta = f64[pm + g] - f64[m + g];
                const m2 = f64[va + g] * nA + f64[pv + g] * nB + (delta * delta * nA * nB) / n;
                f64[m + g] += (delta * nB) / n;
                f64[va + g] = Math.max(0, m2) / n;
              }
            },
          };
        }
        if (groups < 2) return null;
        const g1 = groups >> 1;
        return {
          a: [x, 1, g1, inner, mean, variance],
          b: [x + g1 * inner * 4, 1, groups - g1, inner, mean + 8 * g1, variance + 8 * g1],
        };
      }
      case 'squareMoments': {
        const [x, outer, groups, inner, mean, variance] = v;
        if (outer >= 2) {
          const o1 = outer >> 1;
          const p = partials(groups);
          if (p === null) return null;
          return {
            a: [x, o1, groups, inner, mean, variance],
            b: [x + o1 * groups * inner * 4, outer - o1, groups, inner, p[0], p[1]],
            merge: () => {
              // The two halves' mean squares, weighted by their counts.
              const nA = o1 * inner;
              const nB = (outer - o1) * inner;
              const va = variance >> 3;
              const pv = p[1] >> 3;
              for (let g = 0; g < groups; g++) f64[va + g] = (f64[va + g] * nA + f64[pv + g] * nB) / (nA + nB);
            },
          };
        }
        if (groups < 2) return null;
        const g1 = groups >> 1;
        return {
          a: [x, 1, g1, inner, mean, variance],
          b: [x + g1 * inner * 4, 1, groups - g1, inner, mean + 8 * g1, variance + 8 * g1],
        };
      }
      case 'lnForward': {
        const [x, rows, features, m, s, g, b, y] = v;
        if (rows < 2) return null;
        const r1 = rows >> 1;
        const shift = r1 * features * 4;
        return { a: [x, r1, features, m, s, g, b, y], b: [x + shift, rows - r1, features, m + 8 * r1, s + 8 * r1, g, b, y + shift] };
      }
      case 'lnBackward': {
        const [x, dy, rows, features, m, s, g, dx, ds, db, meanFactor, xhatFactor] = v;
        if (rows < 2) return null;
        const p = partials(features);
        if (p === null) return null;
        f64.fill(0, p[0] >> 3, (p[0] >> 3) + features);
        f64.fill(0, p[1] >> 3, (p[1] >> 3) + features);
        const r1 = rows >> 1;
        const shift = r1 * features * 4;
        return {
          a: [x, dy, r1, features, m, s, g, dx, ds, db, meanFactor, xhatFactor],
          b: [x + shift, dy + shift, rows - r1, features, m + 8 * r1, s + 8 * r1, g, dx + shift, p[0], p[1], meanFactor, xhatFactor],
          merge: () => {
            addInto(ds, p[0], features);
            addInto(db, p[1], features);
          },
        };
      }
    }
  }

  return {
    split(kernel, args, size) {
      if (size < threshold) return false;
      const half = plan(kernel, args);
      if (half === null) return false;
      for (let i = 0; i < half.b.length; i++) slots[i] = half.b[i];
      Atomics.store(ctl, KERNEL, EXPORT_NAMES.indexOf(kernel));
      const seq = Atomics.add(ctl, REQUEST, 1) + 1;
      Atomics.notify(ctl, REQUEST);
      (k[kernel] as (...a: number[]) => void)(...half.a);
      let spins = 0;
      while (Atomics.load(ctl, DONE) !== seq) {
        if (++spins > SPIN_ITERATIONS) Atomics.wait(ctl, DONE, Atomics.load(ctl, DONE), 1);
      }
      half.merge?.();
      return true;
    },
    async terminate() {
      Atomics.store(ctl, STOP, 1);
      Atomics.add(ctl, REQUEST, 1);
      Atomics.notify(ctl, REQUEST);
      if (partial !== 0) pool.freeRaw(partial);
      await worker.terminate();
    },
  };
}
