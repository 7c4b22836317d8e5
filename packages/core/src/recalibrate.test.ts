import { describe, expect, it } from 'vitest';
import { NormkitError } from './errors.js';
import { Layer } from './layer.js';
import { momentsOf } from './moments.js';
import type { NormalizerTypes } from './normalizer.js';
import { defineNormalizer } from './normalizer.js';
import { recalibrate } from './recalibrate.js';
import { initialRunningStatistics } from './running.js';
import { fromArray, toDtype, toTypedArray } from './tensor.js';
import type { Tensor } from './tensor.js';

// A probe normalizer on (N, C, L) inputs: forward is the identity; batchMoments reports per
// channel either the moments of all N·L values ('pooled') or of each sample's L values
// ('per-group'), so recalibrate's aggregation can be checked against closed forms.
interface ProbeTypes extends NormalizerTypes {
  Name: 'probe';
  InputOptions: { numFeatures: number; kind: 'pooled' | 'per-group'; moments?: boolean; runningVariance?: string };
  Options: { numFeatures: number; kind: 'pooled' | 'per-group'; moments: boolean; runningVariance?: string };
  Params: never;
  State: 'runningMean' | 'runningVar' | 'numBatchesTracked';
  Saved: object;
}

const probe = defineNormalizer<ProbeTypes>({
  meta: { name: 'probe', version: '0.0.0', description: 'identity with batch moments', formula: 'y = x' },
  modes: ['train', 'eval'],
  exampleOptions: [{ numFeatures: 2, kind: 'pooled' }],
  resolveOptions: (input) => ({ numFeatures: input?.numFeatures ?? 1, kind: input?.kind ?? 'pooled', moments: input?.moments ?? true, runningVariance: input?.runningVariance }),
  bind(options) {
    const channels = options.numFeatures;
    const values = (x: Tensor, n: number, c: number): number[] => Array.from({ length: x.shape[2] }, (_, l) => x.get(n, c, l));
    const methods = {
      paramShapes: () => ({}),
      stateShapes: () => ({ runningMean: [channels], runningVar: [channels], numBatchesTracked: [] }),
      init: (dtype: 'float32' | 'float64' = 'float32') => ({ params: {}, state: initialRunningStatistics(channels, dtype) }),
      exampleShapes: () => [[2, channels, 3]],
      forward: (args: { x: Tensor; state: object }) => ({ y: args.x, state: args.state, saved: {} }),
      backward: (args: { dy: Tensor }) => ({ dx: args.dy, grads: {} }),
    };
    if (!options.moments) return methods;
    return {
      ...methods,
      batchMoments(x: Tensor) {
        const samples = x.shape[0];
        const groups = Array.from({ length: channels }, (_, c) => {
          if (options.kind === 'pooled') {
            const all: number[] = [];
            for (let n = 0; n < samples; n++) all.push(...values(x, n, c));
            return [momentsOf(all)];
          }
          return Array.from({ length: samples }, (_, n) => momentsOf(values(x, n, c)));
        });
        // 'by-batch-size': biased for an even batch, unbiased for an odd one (a plugin that changes its mind).
        const reported = options.runningVariance === 'by-batch-size' ? (samples % 2 === 0 ? 'biased' : 'unbiased') : options.runningVariance;
        return reported === undefined ? { kind: options.kind, groups } : { kind: options.kind, groups, runningVariance: reported as 'biased' };
      },
    };
  },
});

/** An (N, 2, L) tensor with deterministic, uneven values. */
function batchOf(samples: number, length: number, seed: number): Tensor {
  const data = Array.from({ length: samples * 2 * length }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * (1 + seed) + seed * 0.5);
  return fromArray(data, [samples, 2, length], 'float64');
}

function channelValues(x: Tensor, c: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < x.shape[0]; n++) for (let l = 0; l < x.shape[2]; l++) out.push(x.get(n, c, l));
  return out;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function biasedVariance(values: readonly number[]): number {
  const m = mean(values);
  return mean(values.map((v) => (v - m) ** 2));
}

function unbiasedVariance(values: readonly number[]): number {
  return (biasedVariance(values) * values.length) / (values.length - 1);
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (e) {
    return e instanceof NormkitError ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

// Tolerance: float64 closed forms computed by a different summation order, rtol 1e-12.
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('recalibrate (PreciseBN)', () => {
  it("'pooled' with equal batches: the exact mean and unbiased variance of every value seen; the counter is kept", () => {
    const layer = new Layer(probe, { numFeatures: 2, kind: 'pooled' }, { dtype: 'float64' });
    const batches = [batchOf(3, 4, 1), batchOf(3, 4, 2), batchOf(3, 4, 3)];
    const [result] = recalibrate([layer], batches.map((x) => [x]));
    expect(result.batches).toBe(3);
    for (let c = 0; c < 2; c++) {
      const all = batches.flatMap((x) => channelValues(x, c));
      close(result.mean[c], mean(all));
      close(result.variance[c], unbiasedVariance(all));
      close((layer.state.runningMean as Tensor).get(c), mean(all));
      close((layer.state.runningVar as Tensor).get(c), unbiasedVariance(all));
    }
    expect(Array.from(toTypedArray(layer.state.numBatchesTracked as Tensor))).toEqual([0]);
  });

  it("'pooled' with batches of different sizes weighs each batch equally (mean of batch means; mixture variance)", () => {
    const layer = new Layer(probe, { numFeatures: 2, kind: 'pooled' }, { dtype: 'float64' });
    const batches = [batchOf(1, 3, 1), batchOf(4, 3, 2), batchOf(2, 3, 5)];
    const [result] = recalibrate([layer], batches.map((x) => [x]));
    for (let c = 0; c < 2; c++) {
      const perBatch = batches.map((x) => channelValues(x, c));
      const means = perBatch.map(mean);
      // An equal-weight mixture of the batches: biased variance = mean of the batches' biased
      // variances + the biased variance of their means; unbiased over all values seen.
      const total = perBatch.reduce((a, v) => a + v.length, 0);
      const biased = mean(perBatch.map(biasedVariance)) + biasedVariance(means);
      close(result.mean[c], mean(means));
      close(result.variance[c], (biased * total) / (total - 1));
    }
  });

  it("'per-group': the average over samples of each sample's mean and unbiased variance, batches weighted equally", () => {
    const layer = new Layer(probe, { numFeatures: 2, kind: 'per-group' }, { dtype: 'float32' });
    const batches = [batchOf(2, 5, 1), batchOf(3, 5, 2)].map((x) => toDtype(x, 'float32')); // inputs in the layer's dtype
    const [result] = recalibrate([layer], batches.map((x) => [x]));
    for (let c = 0; c < 2; c++) {
      const batchMean = (x: Tensor) => mean(Array.from({ length: x.shape[0] }, (_, n) => mean(channelValues(x, c).slice(n * 5, n * 5 + 5))));
      const batchVar = (x: Tensor) => mean(Array.from({ length: x.shape[0] }, (_, n) => unbiasedVariance(channelValues(x, c).slice(n * 5, n * 5 + 5))));
      close(result.mean[c], mean(batches.map(batchMean)));
      close(result.variance[c], mean(batches.map(batchVar)));
      // float32 state: the float64 result rounded once
      expect((layer.state.runningVar as Tensor).get(c)).toBe(Math.fround(result.variance[c]));
    }
    expect((layer.state.runningVar as Tensor).data).toBeInstanceOf(Float32Array);
  });

  it("runningVariance 'biased': the biased population variance (pooled) and the average biased sample variance (per-group)", () => {
    const pooled = new Layer(probe, { numFeatures: 2, kind: 'pooled', runningVariance: 'biased' }, { dtype: 'float64' });
    const batches = [batchOf(4, 3, 1), batchOf(4, 3, 2)];
    const [result] = recalibrate([pooled], batches.map((x) => [x]));
    for (let c = 0; c < 2; c++) close(result.variance[c], biasedVariance([...channelValues(batches[0], c), ...channelValues(batches[1], c)]));
    const perGroup = new Layer(probe, { numFeatures: 2, kind: 'per-group', runningVariance: 'biased' }, { dtype: 'float64' });
    const [grouped] = recalibrate([perGroup], batches.map((x) => [x]));
    for (let c = 0; c < 2; c++) {
      const batchVar = (x: Tensor) => mean(Array.from({ length: x.shape[0] }, (_, n) => biasedVariance(channelValues(x, c).slice(n * 3, n * 3 + 3))));
      close(grouped.variance[c], mean(batches.map(batchVar)));
    }
    // One value per group has a biased variance (0), not an unbiased one.
    const single = [batchOf(2, 1, 3)];
    expect(recalibrate([new Layer(probe, { numFeatures: 2, kind: 'per-group', runningVariance: 'biased' }, { dtype: 'float64' })], single.map((x) => [x]))[0].variance).toEqual(new Float64Array([0, 0]));
    expect(codeOf(() => recalibrate([new Layer(probe, { numFeatures: 2, kind: 'per-group' }, { dtype: 'float64' })], single.map((x) => [x])))).toBe('E_DEGENERATE');
  });

  it("refuses a runningVariance other than 'unbiased' or 'biased', or one that changes between batches (E_PLUGIN), changing nothing", () => {
    for (const [runningVariance, batches] of [
      ['population', [batchOf(2, 3, 1)]],
      ['by-batch-size', [batchOf(2, 3, 1), batchOf(3, 3, 2)]],
    ] as const) {
      const layer = new Layer(probe, { numFeatures: 2, kind: 'pooled', runningVariance }, { dtype: 'float64' });
      const before = Array.from(toTypedArray(layer.state.runningVar as Tensor));
      expect(codeOf(() => recalibrate([layer], batches.map((x) => [x])))).toBe('E_PLUGIN');
      expect(Array.from(toTypedArray(layer.state.runningVar as Tensor))).toEqual(before);
    }
  });

  it('recalibrates several layers from one pass over the batches (a generator works)', () => {
    const a = new Layer(probe, { numFeatures: 2, kind: 'pooled' }, { dtype: 'float64' });
    const b = new Layer(probe, { numFeatures: 2, kind: 'pooled' }, { dtype: 'float64' });
    const inputs = [batchOf(2, 3, 1), batchOf(2, 3, 2)];
    const results = recalibrate([a, b], (function* () {
      for (const x of inputs) yield [x, fromArray(toTypedArray(x).map((v) => 2 * v + 1), x.shape, 'float64')];
    })());
    for (let c = 0; c < 2; c++) {
      close(results[1].mean[c], 2 * results[0].mean[c] + 1);
      close(results[1].variance[c], 4 * results[0].variance[c]);
    }
  });

  it('refuses bad calls with a stable code and changes no layer', () => {
    const good = new Layer(probe, { numFeatures: 2, kind: 'pooled' }, { dtype: 'float64' });
    const without = new Layer(probe, { numFeatures: 2, kind: 'pooled', moments: false }, { dtype: 'float64' });
    const x = batchOf(2, 3, 1);
    const before = Array.from(toTypedArray(good.state.runningVar as Tensor));
    expect(codeOf(() => recalibrate([good], []))).toBe('E_OPTION');
    expect(codeOf(() => recalibrate([good, without], [[x, x]]))).toBe('E_OPTION');
    expect(codeOf(() => recalibrate([good], [[x, x]]))).toBe('E_SHAPE');
    expect(codeOf(() => recalibrate([good], [[[1, 2] as unknown as Tensor]]))).toBe('E_SHAPE');
    // Plain tensors instead of one list per batch: the message says how to write it.
    expect(() => recalibrate([good], [x] as never)).toThrow(
      'batches[0]: expected a list of 1 input tensors (one per layer), got a tensor; a batch is a list even for one layer: [x], so batches is [[xa], [xb], …]',
    );
    // one value per channel over all batches: no unbiased variance
    expect(codeOf(() => recalibrate([good], [[fromArray([1, 2], [1, 2, 1], 'float64')]]))).toBe('E_DEGENERATE');
    // the second layer fails (one value per sample): the first is not written either
    const perGroup = new Layer(probe, { numFeatures: 2, kind: 'per-group' }, { dtype: 'float64' });
    expect(codeOf(() => recalibrate([good, perGroup], [[x, fromArray([1, 2, 3, 4], [2, 2, 1], 'float64')]]))).toBe('E_DEGENERATE');
    expect(codeOf(() => recalibrate([good], [[fromArray([1, Number.NaN, 3, 4], [2, 2, 1], 'float64')]]))).toBe('E_NONFINITE');
    // a float32 batch for a float64 layer, as forward refuses it (it was accepted)
    expect(() => recalibrate([good], [[fromArray([1, 2, 3, 4], [2, 2, 1], 'float32')]])).toThrow(
      "batches[0][0]: expected a float64 input to match the probe layer, got float32 (convert it with toDtype(x, 'float64'), or move the layer with layer.to('float32'))",
    );
    // something that has a normalizer but is no layer: E_OPTION, not a TypeError
    expect(codeOf(() => recalibrate([good, { normalizer: {} } as never], [[x, x]]))).toBe('E_OPTION');
    expect(Array.from(toTypedArray(good.state.runningVar as Tensor))).toEqual(before);
  });
});
