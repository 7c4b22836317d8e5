import { fromArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn, runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './layer.js';

describe('BatchNorm (the PyTorch-style layer)', () => {
  it('reproduces PyTorch issue #60528: one step of BatchNorm1d(3) on a [4, 3, 4] input', () => {
    // channel 0: 16 values with mean 4 and biased variance 40/16 = 2.5; other channels zero
    const rows = [
      [1, 2, 3, 4],
      [4, 5, 6, 7],
      [2, 3, 4, 5],
      [3, 4, 5, 6],
    ];
    const x = zeros([4, 3, 4], 'float64');
    rows.forEach((row, n) => row.forEach((v, l) => x.set(n, 0, l, v)));
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    const y = bn.forward(x);
    const row0 = [0, 1, 2, 3].map((l) => y.get(0, 0, l));
    const expected = [-3, -2, -1, 0].map((d) => d / Math.sqrt(2.5 + 1e-5));
    row0.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 14));
    expect(row0.map((v) => Number(v.toFixed(4)))).toEqual([-1.8974, -1.2649, -0.6325, 0]);
    // the running variance takes the unbiased batch variance 40/15
    expect((bn.runningVar as Tensor).get(0)).toBeCloseTo(0.9 * 1 + 0.1 * (40 / 15), 14);
    expect((bn.runningMean as Tensor).get(0)).toBeCloseTo(0.4, 14);
    expect(bn.numBatchesTracked).toBe(1);
  });

  it('trains, evaluates, accumulates grads and round-trips its state dict', () => {
    const bn = new BatchNorm({ numFeatures: 4, momentum: null });
    expect(bn.weight?.data).toBeInstanceOf(Float32Array);
    const x1 = randn([8, 4, 3], 1, 'float32', 2, 3);
    const x2 = randn([8, 4, 3], 2, 'float32', -1, 0.5);
    bn.forward(x1);
    bn.forward(x2);
    expect(bn.numBatchesTracked).toBe(2);
    // momentum null: the running mean is the plain average of the two batch means
    const mean = (t: Tensor, c: number) => {
      let s = 0;
      for (let n = 0; n < 8; n++) for (let l = 0; l < 3; l++) s += t.get(n, c, l);
      return s / 24;
    };
    for (let c = 0; c < 4; c++) expect((bn.runningMean as Tensor).get(c)).toBeCloseTo((mean(x1, c) + mean(x2, c)) / 2, 5);
    const dy = randn([8, 4, 3], 3, 'float32');
    bn.backward(dy, { retainSaved: true }); // keep the saved values for a second backward
    bn.backward(dy);
    let sumDy = 0;
    for (let n = 0; n < 8; n++) for (let l = 0; l < 3; l++) sumDy += dy.get(n, 0, l);
    expect((bn.grads.bias as Tensor).get(0)).toBeCloseTo(2 * sumDy, 4);

    const copy = new BatchNorm({ numFeatures: 4, momentum: null });
    copy.loadStateDict(bn.stateDict());
    copy.eval();
    bn.eval();
    const y1 = bn.forward(x1);
    const y2 = copy.forward(x1);
    expect(Array.from(y2.data)).toEqual(Array.from(y1.data));
    expect(copy.numBatchesTracked).toBe(2);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'runningMean', 'runningVar', 'numBatchesTracked']);
  });

  it('in eval mode uses the running statistics: dx = dy·γ/√(runningVar + ε)', () => {
    const bn = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    bn.loadStateDict({ ...bn.stateDict(), weight: fromArray([2, 3], 'float64'), runningVar: fromArray([3, 0.5], 'float64'), runningMean: fromArray([1, -1], 'float64') });
    bn.eval();
    const y = bn.forward(fromArray([1, -1, 4, 0], [2, 2], 'float64'));
    expect(y.get(1, 0)).toBeCloseTo((2 * 3) / Math.sqrt(3 + 1e-5), 14);
    expect(y.get(1, 1)).toBeCloseTo((3 * 1) / Math.sqrt(0.5 + 1e-5), 14);
    const dx = bn.backward(fromArray([1, 1, 1, 1], [2, 2], 'float64'));
    expect(dx.get(0, 0)).toBeCloseTo(2 / Math.sqrt(3 + 1e-5), 14);
    expect(dx.get(0, 1)).toBeCloseTo(3 / Math.sqrt(0.5 + 1e-5), 14);
  });

  it('loads a PyTorch < 0.4.1 checkpoint without num_batches_tracked as PyTorch ≥ 2.2 does: the counter keeps its value', () => {
    const source = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    source.forward(fromArray([1, 2, 3, 5, 6, 9], [3, 2], 'float64'));
    const { num_batches_tracked: _dropped, ...old } = source.stateDict({ names: 'pytorch' });
    // A new layer: its counter is 0, and stays 0.
    const fresh = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    expect(fresh.loadStateDict(old, { names: 'pytorch' })).toEqual({ missingKeys: [], unexpectedKeys: [] }); // strict passes
    expect(fresh.numBatchesTracked).toBe(0);
    expect(Array.from(fresh.runningMean!.data)).toEqual(Array.from(source.runningMean!.data));
    // A trained layer keeps its own count (batch renorm's schedule, say, does not restart).
    const trained = new BatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    trained.forward(fromArray([0, 1, 2, 3], [2, 2], 'float64'));
    trained.forward(fromArray([0, 1, 2, 3], [2, 2], 'float64'));
    trained.loadStateDict(old, { names: 'pytorch' });
    expect(trained.numBatchesTracked).toBe(2);
    expect(Array.from(trained.runningVar!.data)).toEqual(Array.from(source.runningVar!.data));
    // Under normkit names a missing counter is missing like any entry.
    const { numBatchesTracked: _counter, ...own } = source.stateDict();
    expect(() => trained.loadStateDict(own)).toThrow(/missing entries numBatchesTracked/);
    expect(trained.numBatchesTracked).toBe(2);
  });

  it('runs the README example as written', () => {
    const out = runReadmeExample(new URL('..', import.meta.url).pathname);
    expect(out).toContain('running mean');
    expect(out).toMatch(/dx\[0\] = -?\d/);
  });
});
