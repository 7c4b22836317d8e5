// mean-only-batch-norm.test.ts: gradients in both modes, and the two modes in closed form.
import { describe, expect, it } from 'vitest';
import { Layer, tensor, toArray } from '@normkit/core';
import { assertGradients } from '@normkit/gradcheck';
import { meanOnlyBatchNorm } from './mean-only-batch-norm.js';

describe('meanOnlyBatchNorm', () => {
  it('has correct gradients in train and eval, and its invariants hold', () => {
    assertGradients(meanOnlyBatchNorm); // both modes, every example option set and shape
  });

  it('train subtracts the batch mean and updates the state; eval uses the running mean', () => {
    // Small integers: every value below is exact in float64.
    // momentum 0.25, not 0.5: with 0.5, m and 1 − m (Keras's convention) would give the same numbers.
    const layer = new Layer(meanOnlyBatchNorm, { numFeatures: 2, momentum: 0.25 }, { dtype: 'float64' });
    const x = tensor([[1, 10], [3, 30]], 'float64'); // channel means 2 and 20
    expect(toArray(layer.forward(x))).toEqual([[-1, -10], [1, 10]]);
    const state = layer.stateDict();
    expect(toArray(state.runningMean)).toEqual([0.5, 5]); // 0.75·0 + 0.25·mean
    expect(toArray(state.runningVar)).toEqual([1.25, 50.75]); // 0.75·1 + 0.25·unbiased variance (2, 200)
    expect(toArray(state.numBatchesTracked)).toBe(1);
    layer.eval();
    expect(toArray(layer.forward(x))).toEqual([[0.5, 5], [2.5, 25]]);
    expect(layer.stateDict().numBatchesTracked.data[0]).toBe(1); // eval changes nothing
  });

  it('backward: dx = dy − mean(dy) in train, dx = dy in eval; dβ = Σ dy', () => {
    const layer = new Layer(meanOnlyBatchNorm, { numFeatures: 2 }, { dtype: 'float64' });
    const x = tensor([[1, 10], [3, 30]], 'float64');
    const dy = tensor([[1, 4], [3, 0]], 'float64');
    layer.forward(x);
    expect(toArray(layer.backward(dy))).toEqual([[-1, 2], [1, -2]]);
    layer.eval();
    layer.forward(x);
    expect(toArray(layer.backward(dy))).toEqual([[1, 4], [3, 0]]);
    expect(toArray(layer.stateDict().bias)).toEqual([0, 0]);
    const grads = layer.grads.bias;
    expect(grads === undefined ? null : toArray(grads)).toEqual([8, 8]); // Σ dy, twice
  });
});
