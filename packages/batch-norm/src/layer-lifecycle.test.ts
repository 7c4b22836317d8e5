// BatchNorm's to(dtype), resetRunningStats() and resetParameters(), with PyTorch's rules: the
// step counter stays float64 in any dtype; resets restore PyTorch's initial buffers
// (mean 0, variance 1, counter 0) and parameters (γ = 1, β = 0). Exact values: the inputs are
// small integers and the statistics below are exact in both dtypes.
import { dtypeOf, fromArray, toArray } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './layer.js';

const x = [
  [1, 10],
  [3, 30],
  [5, 50],
  [7, 70],
];

describe('BatchNorm.to(dtype)', () => {
  it('converts γ, β, the running statistics and the gradients; numBatchesTracked stays float64', () => {
    const bn = new BatchNorm({ numFeatures: 2, momentum: 0.5 });
    bn.forward(fromArray(x.flat(), [4, 2]));
    bn.backward(fromArray([1, 0, 0, 0, 0, 0, 0, 1], [4, 2]));
    const before = { mean: toArray(bn.runningMean), bias: toArray(bn.grads.bias), steps: bn.numBatchesTracked };
    bn.to('float64');
    for (const t of [bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.grads.weight, bn.grads.bias]) expect(dtypeOf(t)).toBe('float64');
    expect(dtypeOf(bn.state.numBatchesTracked)).toBe('float64');
    expect(toArray(bn.runningMean)).toEqual(before.mean); // [2, 20]: exact in float32
    expect(toArray(bn.grads.bias)).toEqual(before.bias);
    expect(bn.numBatchesTracked).toBe(before.steps);
    bn.to('float32');
    expect(dtypeOf(bn.runningVar)).toBe('float32');
    expect(dtypeOf(bn.state.numBatchesTracked)).toBe('float64');
    expect(bn.numBatchesTracked).toBe(1);
  });
});

describe('BatchNorm resets, as PyTorch', () => {
  it('resetRunningStats(): mean 0, variance 1, counter 0; γ and β kept', () => {
    const bn = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    bn.loadStateDict({ weight: fromArray([2, 3], 'float64') }, { strict: false });
    bn.forward(fromArray(x.flat(), [4, 2], 'float64'));
    expect(bn.numBatchesTracked).toBe(1);
    bn.resetRunningStats();
    expect(toArray(bn.runningMean)).toEqual([0, 0]);
    expect(toArray(bn.runningVar)).toEqual([1, 1]);
    expect(bn.numBatchesTracked).toBe(0);
    expect(toArray(bn.weight)).toEqual([2, 3]);
  });

  it('resetParameters(): γ = 1, β = 0 and the running statistics reset too', () => {
    const bn = new BatchNorm({ numFeatures: 2 });
    bn.loadStateDict({ weight: fromArray([2, 3]), bias: fromArray([4, 5]) }, { strict: false });
    bn.forward(fromArray(x.flat(), [4, 2]));
    bn.resetParameters();
    expect(toArray(bn.weight)).toEqual([1, 1]);
    expect(toArray(bn.bias)).toEqual([0, 0]);
    expect(toArray(bn.runningMean)).toEqual([0, 0]);
    expect(bn.numBatchesTracked).toBe(0);
    expect(dtypeOf(bn.weight)).toBe('float32');
  });
});
