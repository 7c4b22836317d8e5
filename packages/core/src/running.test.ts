import { describe, expect, it } from 'vitest';
import { NormkitError } from './errors.js';
import { checkRunningStatistics, initialRunningStatistics, nextRunningStatistics } from './running.js';
import type { Tensor } from './tensor.js';
import { dtypeOf, fromArray, full, toTypedArray } from './tensor.js';

function thrown(fn: () => unknown): NormkitError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  return undefined;
}

function bytes(t: Tensor): string {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
}

describe('initialRunningStatistics', () => {
  it("is PyTorch's fresh buffers: mean 0, variance 1 in the dtype, a float64 0-d counter at 0", () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const s = initialRunningStatistics(3, dtype);
      expect(Array.from(toTypedArray(s.runningMean))).toEqual([0, 0, 0]);
      expect(Array.from(toTypedArray(s.runningVar))).toEqual([1, 1, 1]);
      expect(dtypeOf(s.runningMean)).toBe(dtype);
      expect(dtypeOf(s.runningVar)).toBe(dtype);
      expect(s.numBatchesTracked.shape).toEqual([]);
      expect(dtypeOf(s.numBatchesTracked)).toBe('float64');
      expect(s.numBatchesTracked.get()).toBe(0);
    }
  });
});

describe('nextRunningStatistics', () => {
  it("applies PyTorch's rule r ← (1 − m)·r + m·b and counts the step, in new tensors", () => {
    const state = { runningMean: fromArray([1, -2], 'float64'), runningVar: fromArray([4, 0.5], 'float64'), numBatchesTracked: full([], 'float64', 3) };
    const before = [state.runningMean, state.runningVar, state.numBatchesTracked].map(bytes);
    const next = nextRunningStatistics(state, new Float64Array([3, 6]), new Float64Array([2, 8]), 0.25);
    // 0.75·1 + 0.25·3 = 1.5; 0.75·(−2) + 0.25·6 = 0; 0.75·4 + 0.25·2 = 3.5; 0.75·0.5 + 0.25·8 = 2.375 (exact in binary)
    expect(Array.from(toTypedArray(next.runningMean as Tensor))).toEqual([1.5, 0]);
    expect(Array.from(toTypedArray(next.runningVar as Tensor))).toEqual([3.5, 2.375]);
    expect((next.numBatchesTracked as Tensor).get()).toBe(4);
    expect(dtypeOf(next.numBatchesTracked as Tensor)).toBe('float64');
    expect(next.runningMean).not.toBe(state.runningMean);
    expect([state.runningMean, state.runningVar, state.numBatchesTracked].map(bytes)).toEqual(before);
  });

  it('with momentum null is the cumulative average: factor 1/t at step t', () => {
    let state: Record<string, Tensor> = initialRunningStatistics(1, 'float64');
    const batches = [5, 1, 9, 3];
    for (const mean of batches) state = nextRunningStatistics(state, new Float64Array([mean]), new Float64Array([2 * mean]), null) as Record<string, Tensor>;
    // step 1 replaces the initial values (factor 1), then the plain average of every batch
    expect(state.runningMean.get(0)).toBeCloseTo(4.5, 14);
    expect(state.runningVar.get(0)).toBeCloseTo(9, 14);
    expect(state.numBatchesTracked.get()).toBe(4);
  });

  it('computes in float64 and rounds once into a float32 state', () => {
    const state = initialRunningStatistics(1, 'float32');
    const next = nextRunningStatistics(state, new Float64Array([1 / 3]), new Float64Array([1]), 0.1);
    expect(dtypeOf(next.runningMean as Tensor)).toBe('float32');
    expect((next.runningMean as Tensor).get(0)).toBe(Math.fround(0.1 / 3));
    expect((next.runningVar as Tensor).get(0)).toBe(Math.fround(0.9 + 0.1));
  });

  it('refuses a non-finite batch statistic with E_NONFINITE on x, naming the channel', () => {
    const state = initialRunningStatistics(2, 'float64');
    for (const [mean, variance] of [
      [[0, Number.NaN], [1, 1]],
      [[0, 0], [1, Number.POSITIVE_INFINITY]],
    ]) {
      const e = thrown(() => nextRunningStatistics(state, Float64Array.from(mean), Float64Array.from(variance), 0.1));
      expect(e?.code).toBe('E_NONFINITE');
      expect(e?.argument).toBe('x');
      expect(e?.message).toContain('channel 1');
    }
  });

  it('refuses a next value that overflows a float32 state (E_NONFINITE), but not the same value in float64', () => {
    const big = new Float64Array([1e40]);
    const e = thrown(() => nextRunningStatistics(initialRunningStatistics(1, 'float32'), new Float64Array([0]), big, 0.5));
    expect(e?.code).toBe('E_NONFINITE');
    expect(e?.message).toContain('float32');
    const wide = nextRunningStatistics(initialRunningStatistics(1, 'float64'), new Float64Array([0]), big, 0.5);
    expect((wide.runningVar as Tensor).get(0)).toBe(0.5 + 0.5e40);
  });
});

describe('checkRunningStatistics', () => {
  it('accepts a non-negative integer counter and non-negative variances, or no such entries', () => {
    expect(() => checkRunningStatistics(initialRunningStatistics(2, 'float32'))).not.toThrow();
    expect(() => checkRunningStatistics({ runningVar: fromArray([0, 2], 'float64'), numBatchesTracked: full([], 'float64', 12) })).not.toThrow();
    expect(() => checkRunningStatistics({})).not.toThrow();
  });

  it('refuses a fractional or negative counter and a negative variance (E_STATE), and NaN or ±Infinity in the mean or variance (E_NONFINITE), naming the entry', () => {
    const cases: [Record<string, Tensor>, string, string, string][] = [
      [{ numBatchesTracked: full([], 'float64', 2.5) }, 'E_STATE', 'state.numBatchesTracked', 'got 2.5'],
      [{ numBatchesTracked: full([], 'float64', -1) }, 'E_STATE', 'state.numBatchesTracked', 'got -1'],
      [{ runningVar: fromArray([1, -0.5, 1], 'float64') }, 'E_STATE', 'state.runningVar', 'got -0.5 for channel 1'],
      [{ runningVar: fromArray([Number.NaN], 'float64') }, 'E_NONFINITE', 'state.runningVar', 'expected finite non-negative values, got NaN for channel 0'],
      [{ runningVar: fromArray([1, Infinity], 'float32') }, 'E_NONFINITE', 'state.runningVar', 'got Infinity for channel 1'],
      [{ runningMean: fromArray([0, 0, Number.NaN], 'float32') }, 'E_NONFINITE', 'state.runningMean', 'expected finite values, got NaN for channel 2'],
      [{ runningMean: fromArray([-Infinity], 'float64'), runningVar: fromArray([1], 'float64') }, 'E_NONFINITE', 'state.runningMean', 'got -Infinity for channel 0'],
    ];
    for (const [state, code, argument, got] of cases) {
      const e = thrown(() => checkRunningStatistics(state));
      expect(e?.code).toBe(code);
      expect(e?.argument).toBe(argument);
      expect(e?.message).toContain(got);
    }
  });
});
