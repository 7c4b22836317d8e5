import type { Worker } from 'node:worker_threads';
import { NormkitError, describeValue, nodeBuiltin } from '@normkit/core';
import type { SharedAllReduceHandle } from './shared-all-reduce.js';
import { SharedAllReduceGroup } from './shared-all-reduce.js';

/** Options of {@link runWorkers}. */
export interface RunWorkersOptions<D = unknown> {
  /** The number of worker threads (participants), ≥ 1. */
  readonly size: number;
  /** Data for every worker (structured-cloned), in `workerData.data`. */
  readonly data?: D;
  /** See {@link SharedAllReduceOptions.capacity}. */
  readonly capacity?: number;
  /** See {@link SharedAllReduceOptions.timeoutMs}. */
  readonly timeoutMs?: number;
}

/** What each worker started by {@link runWorkers} finds in `workerData`. */
export interface SyncWorkerData<D = unknown> {
  /** This worker's rank, `0 … size − 1`. */
  readonly rank: number;
  /** The number of workers. */
  readonly size: number;
  /** The handle to join the group's all-reduce: `connectSharedAllReduce(workerData.allReduce)`. */
  readonly allReduce: SharedAllReduceHandle;
  /** `options.data`. */
  readonly data: D;
}

/**
 * The error {@link runWorkers} rejects with when any worker failed: per rank, what it failed
 * with. The worker that failed first is usually the one whose message is not an
 * `all-reduce:` message (the others were told by the aborted group).
 */
export class WorkersFailedError extends Error {
  /** Per rank: the message of the error it failed with, or `null` when it finished. */
  readonly failures: readonly (string | null)[];

  /**
   * @param failures - per rank, the error message or `null`
   */
  constructor(failures: readonly (string | null)[]) {
    const lines = failures.flatMap((f, rank) => (f === null ? [] : [`rank ${rank}: ${f}`]));
    super(`${lines.length} of ${failures.length} workers failed:\n${lines.join('\n')}`);
    this.name = 'WorkersFailedError';
    this.failures = failures;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a data-parallel program on `size` worker threads that share one
 * {@link SharedAllReduceGroup}: each worker runs `script` with {@link SyncWorkerData} in
 * `workerData`, joins the group with `connectSharedAllReduce(workerData.allReduce)`, and
 * posts its result with `parentPort.postMessage` (the last message counts).
 *
 * When a worker throws (or exits with a non-zero code), the group is aborted at once, so
 * the others' collective calls throw instead of waiting for it; when a worker ends, it is
 * marked as departed, so a call that waits for it throws. The promise settles when every
 * worker has ended: the results in rank order, or a {@link WorkersFailedError} listing
 * every failure.
 *
 * @param script - the worker module (a file URL or path), e.g. `new URL('./worker.js', import.meta.url)`
 * @param options - the number of workers, their data, and the group's capacity and timeout
 * @returns per rank, the last message the worker posted (`undefined` if none)
 * @throws NormkitError `E_OPTION` (synchronously) for bad options, or off Node: the worker threads
 *   are Node's `worker_threads` (reached at run time, not imported, so the package bundles for
 *   the web; there, run the layers in one thread or bring your own transport as an {@link AllReduce})
 * @example
 * ```ts
 * // main.js
 * const results = await runWorkers(new URL('./train-worker.js', import.meta.url), { size: 2, data: { steps: 10 } });
 * // train-worker.js
 * const allReduce = connectSharedAllReduce(workerData.allReduce);
 * const bn = new SyncBatchNorm({ numFeatures: 16, allReduce });
 * // … train on this rank's share of each batch …
 * parentPort.postMessage(bn.stateDict());
 * ```
 */
export function runWorkers<R = unknown, D = unknown>(script: string | URL, options: RunWorkersOptions<D>): Promise<R[]> {
  if (typeof options !== 'object' || options === null) {
    throw new NormkitError('E_OPTION', `runWorkers options: expected { size, data?, capacity?, timeoutMs? }, got ${describeValue(options)}`, 'options');
  }
  const WorkerThread = nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads')?.Worker;
  if (WorkerThread === undefined) {
    throw new NormkitError('E_OPTION', "runWorkers: needs Node's worker_threads, which this host lacks (a browser); run the layers in one thread there", 'runWorkers');
  }
  const group = new SharedAllReduceGroup({ size: options.size, capacity: options.capacity, timeoutMs: options.timeoutMs });
  const size = group.size;
  return new Promise<R[]>((resolve, reject) => {
    const results = new Array<R>(size);
    const failures = new Array<string | null>(size).fill(null);
    let running = size;
    const settle = () => {
      if (--running > 0) return;
      if (failures.some((f) => f !== null)) reject(new WorkersFailedError(failures));
      else resolve(results);
    };
    const fail = (rank: number, message: string) => {
      failures[rank] ??= message;
      group.abort(`rank ${rank} failed: ${message}`, rank);
    };
    for (let rank = 0; rank < size; rank++) {
      let worker: Worker;
      try {
        const workerData: SyncWorkerData<D | undefined> = { rank, size, allReduce: group.handle(rank), data: options.data };
        worker = new WorkerThread(script, { workerData });
      } catch (e) {
        // Workers that did start are told by the aborted group; this one and the rest never run.
        for (let r = rank; r < size; r++) {
          fail(r, r === rank ? `could not start: ${messageOf(e)}` : 'not started');
          group.depart(r);
          settle();
        }
        return;
      }
      worker.on('message', (message: R) => {
        results[rank] = message;
      });
      worker.on('error', (error) => fail(rank, messageOf(error)));
      worker.on('exit', (code) => {
        if (code !== 0) fail(rank, `exited with code ${code}`);
        group.depart(rank);
        settle();
      });
    }
  });
}
