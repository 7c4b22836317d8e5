import { BatchNorm, batchNorm } from '@normkit/batch-norm';
import type { BatchNormInputOptions } from '@normkit/batch-norm';
import { fromArray, recalibrate, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { runWorkers } from './run-workers.js';

/** What test/workers/replica.mjs posts. */
interface ReplicaResult {
  steps: { y: Float64Array; dx: Float64Array; grads: Record<string, Float64Array> }[];
  state: Record<string, Float64Array>;
  evalY: Float64Array;
}

const replica = new URL('../test/workers/replica.mjs', import.meta.url);

/** max |a − b| / max(1, |b|): the float64 tolerance is 1e-12 on this. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

function concat(parts: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(Array.from(p), at);
    at += p.length;
  }
  return out;
}

/**
 * Runs `steps` training steps of sync batch norm on `splits.length` worker threads, each on
 * its share of every batch, and of batch norm in this process on the whole batches; checks
 * y, dx, dγ, dβ (summed over the replicas), the running statistics (on every replica) and
 * an eval call, to 1e-12 relative in float64.
 */
async function checkAgainstBatchNorm(options: BatchNormInputOptions, rest: readonly number[], splits: readonly number[], stepCount: number): Promise<void> {
  const n = splits.reduce((a, b) => a + b, 0);
  const shape = [n, ...rest];
  const steps = Array.from({ length: stepCount }, (_, s) => ({
    x: toTypedArray(randn(shape, 10 * s + 1, 'float64', s - 1, 1 + s)) as Float64Array,
    dy: toTypedArray(randn(shape, 10 * s + 2)) as Float64Array,
  }));
  const bn = batchNorm.create(options);
  const channels = options.numFeatures;
  const params: Record<string, Float64Array> =
    options.affine === false ? {} : { weight: toTypedArray(randn([channels], 3, 'float64', 1, 0.5)) as Float64Array, bias: toTypedArray(randn([channels], 4)) as Float64Array };
  const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, fromArray(v, 'float64')]));

  const results = await runWorkers<ReplicaResult>(replica, { size: splits.length, data: { options, rest, splits, steps, params, dtype: 'float64' } });

  let { state } = bn.init('float64');
  for (const [s, step] of steps.entries()) {
    const x = fromArray(step.x, shape, 'float64');
    const { y, state: next, saved } = bn.forward({ x, params: p, state, mode: 'train' });
    state = next;
    const { dx, grads } = bn.backward({ dy: fromArray(step.dy, shape, 'float64'), params: p, saved });
    expect(relativeError(concat(results.map((r) => r.steps[s].y)), toTypedArray(y))).toBeLessThan(1e-12);
    expect(relativeError(concat(results.map((r) => r.steps[s].dx)), toTypedArray(dx))).toBeLessThan(1e-12);
    for (const name of Object.keys(params) as ('weight' | 'bias')[]) {
      const summed = new Float64Array(channels);
      for (const r of results) for (let c = 0; c < channels; c++) summed[c] += r.steps[s].grads[name][c];
      expect(relativeError(summed, toTypedArray(grads[name] as Tensor))).toBeLessThan(1e-12);
    }
  }
  for (const r of results) {
    for (const [name, t] of Object.entries(state)) expect(relativeError(r.state[name], toTypedArray(t as Tensor))).toBeLessThan(1e-12);
  }
  // eval: local, with the (identical) running statistics
  const firstX = fromArray(steps[0].x, shape, 'float64');
  const evalY = toTypedArray(bn.forward({ x: firstX, params: p, state, mode: 'eval' }).y);
  expect(relativeError(concat(results.map((r) => r.evalY)), evalY)).toBeLessThan(1e-12);
}

// Worker threads on a loaded machine: generous timeouts, small worker counts, no timing assertions.
describe('sync batch norm over worker threads equals batch norm on the concatenated batch (float64, 1e-12)', () => {
  it('2 workers, equal shares (4 + 4 of (8, 3, 5)), 3 steps', async () => {
    await checkAgainstBatchNorm({ numFeatures: 3 }, [3, 5], [4, 4], 3);
  }, 120_000);

  it('3 workers, uneven shares (1 + 4 + 2 of (7, 2, 3)), momentum null, 2 steps', async () => {
    await checkAgainstBatchNorm({ numFeatures: 2, momentum: null }, [2, 3], [1, 4, 2], 2);
  }, 120_000);

  it('2 workers, uneven shares of rank-2 data (one sample on one worker: 1 + 5 of (6, 4)), no affine', async () => {
    await checkAgainstBatchNorm({ numFeatures: 4, affine: false }, [4], [1, 5], 2);
  }, 120_000);

  it('3 workers, channels-last (N, H, W, C) shares 2 + 1 + 3', async () => {
    await checkAgainstBatchNorm({ numFeatures: 3, channelAxis: -1 }, [2, 2, 3], [2, 1, 3], 2);
  }, 120_000);

  it("2 workers, Keras 3's synchronized=True: biased running variance (unbiasedRunningVar false), momentum 0.01, eps 1e-3, shares 3 + 2", async () => {
    await checkAgainstBatchNorm({ numFeatures: 3, channelAxis: -1, momentum: 0.01, eps: 1e-3, unbiasedRunningVar: false }, [2, 3], [3, 2], 3);
  }, 120_000);

  it("3 workers, one with an empty share (4 + 0 + 3 of (7, 2, 3)), as PyTorch's SyncBatchNorm: it joins both collective steps, gets an empty y and dx, zero dγ and dβ, and the same running statistics", async () => {
    await checkAgainstBatchNorm({ numFeatures: 2 }, [2, 3], [4, 0, 3], 2);
  }, 120_000);
});

describe('recalibrate (PreciseBN) over worker threads', () => {
  it('3 replicas with uneven shares, one empty (2 + 0 + 4), get the population statistics of the whole batches, as batch norm in one process (1e-12)', async () => {
    const rest = [2, 3];
    const splits = [2, 0, 4]; // the second replica has no samples: it sends a count of 0
    const batches = [1, 2, 3].map((s) => toTypedArray(randn([6, ...rest], 40 + s, 'float64', s, 1 + s)) as Float64Array);
    const results = await runWorkers<{ mean: Float64Array; variance: Float64Array }>(new URL('../test/workers/recalibrate.mjs', import.meta.url), {
      size: 3,
      data: { rest, splits, batches },
    });
    const bn = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    recalibrate([bn], batches.map((values) => [fromArray(values, [6, ...rest], 'float64')]));
    for (const r of results) {
      expect(relativeError(r.mean, toTypedArray(bn.runningMean!))).toBeLessThan(1e-12);
      expect(relativeError(r.variance, toTypedArray(bn.runningVar!))).toBeLessThan(1e-12);
    }
  }, 120_000);
});
