import { describe, expect, it } from 'vitest';
import { Float64Scratch } from './engine/scratch.js';
import { NormkitError } from './errors.js';
import { initialRunningStatistics, nextRunningStatistics } from './running.js';
import { ON_HEAP_TYPED_ARRAY_BYTES, dtypeOf, fromArray, packedTensors, tensor } from './tensor.js';
import type { Tensor } from './tensor.js';
import { paramValues } from './validate.js';

describe('packedTensors', () => {
  it('rounds each source once into its own part of one array (parts over 64 bytes)', () => {
    const a = Float64Array.from({ length: 20 }, (_, i) => i + 0.1);
    const b = Float64Array.from({ length: 20 }, (_, i) => -i / 3);
    const [ta, tb] = packedTensors([a, b], [4, 5], 'float32');
    expect(dtypeOf(ta)).toBe('float32');
    expect(ta.shape).toEqual([4, 5]);
    expect(ta.stride).toEqual([5, 1]);
    expect(Array.from(ta.data)).toEqual(Array.from(a, Math.fround));
    expect(Array.from(tb.data)).toEqual(Array.from(b, Math.fround));
    // One allocation: both views share a buffer, side by side, and do not overlap.
    expect(ta.data.buffer).toBe(tb.data.buffer);
    expect(ta.data.byteOffset).toBe(0);
    expect(tb.data.byteOffset).toBe(80);
    tb.data[0] = 42;
    expect(ta.data[19]).toBe(Math.fround(19.1));
  });

  it('gives small parts (up to 64 bytes) arrays of their own, which V8 keeps on its heap', () => {
    const n = ON_HEAP_TYPED_ARRAY_BYTES / 8;
    const [ta, tb] = packedTensors([new Float64Array(n).fill(1), new Float64Array(n).fill(2)], [n], 'float64');
    expect(ta.data.buffer).not.toBe(tb.data.buffer);
    expect(Array.from(tb.data)).toEqual(new Array(n).fill(2));
  });

  it('refuses a source of the wrong length, naming it', () => {
    const call = () => packedTensors([new Float64Array(3), new Float64Array(4)], [3], 'float64');
    expect(call).toThrow(NormkitError);
    expect(call).toThrow(/sources\[1\]: expected 3 values for shape \[3\], got 4/);
  });
});

describe('paramValues', () => {
  it('is null for an absent parameter and the float64 values in a scratch slot otherwise', () => {
    const scratch = new Float64Scratch(2);
    expect(paramValues(undefined, scratch, 0)).toBeNull();
    const gamma = fromArray([0.5, 1.25, -3], 'float32');
    const values = paramValues(gamma, scratch, 0) as Float64Array;
    expect(Array.from(values)).toEqual([0.5, 1.25, -3]);
    // The slot is reused: taking it again overwrites the same memory.
    const again = paramValues(fromArray([7, 8, 9], 'float64'), scratch, 0) as Float64Array;
    expect(again.buffer).toBe(values.buffer);
    expect(Array.from(values)).toEqual([7, 8, 9]);
  });

  it('reads strided parameters in row-major order', () => {
    const t = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(1, 0);
    expect(Array.from(paramValues(t, new Float64Scratch(1), 0) as Float64Array)).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('nextRunningStatistics over one array', () => {
  it('returns PyTorch’s update (closed form) with the mean and variance packed, leaving the old state alone', () => {
    const channels = 24;
    const state = initialRunningStatistics(channels, 'float32');
    const mean = Float64Array.from({ length: channels }, (_, c) => c / 7);
    const variance = Float64Array.from({ length: channels }, (_, c) => 1 + c / 5);
    const { runningMean, runningVar, numBatchesTracked } = nextRunningStatistics(state, mean, variance, 0.1) as Record<string, Tensor>;
    for (let c = 0; c < channels; c++) {
      expect(runningMean.data[c]).toBe(Math.fround(0.1 * mean[c]));
      expect(runningVar.data[c]).toBe(Math.fround(0.9 + 0.1 * variance[c]));
    }
    expect(runningMean.data.buffer).toBe(runningVar.data.buffer);
    expect(numBatchesTracked.data[0]).toBe(1);
    expect(Array.from(state.runningMean.data)).toEqual(new Array(channels).fill(0));
    expect(Array.from(state.runningVar.data)).toEqual(new Array(channels).fill(1));
  });
});
