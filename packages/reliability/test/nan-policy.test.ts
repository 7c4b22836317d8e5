/**
 * The NaN policy (README, "NaN policy"), one test per line of its tables: what NaN or
 * ±Infinity in the input does to outputs and to running statistics, per plugin.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm } from '@normkit/batch-norm';
import { isNormkitError, toContiguous } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { LayerNorm } from '@normkit/layer-norm';
import { randn } from '@normkit/testkit';
import { WeightNorm, WeightNormLinear } from '@normkit/weight-norm';
import { layerBytes, layerChanges, valuesOf } from '../src/index.js';

const POISONS = [Number.NaN, Infinity, -Infinity] as const;

function poisoned(x: Tensor, index: number[], value: number): Tensor {
  const copy = toContiguous(x);
  copy.set(...index, value);
  return copy;
}

/** Every element of `t` whose index satisfies `bad` is NaN... and the others equal `clean`'s. */
function expectOnlyWhere(t: Tensor, clean: Tensor, bad: (index: number[]) => boolean): void {
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  const size = t.shape.reduce((a, b) => a * b, 1);
  for (let f = 0; f < size; f++) {
    if (bad(index)) expect(Number.isNaN(t.get(...index)), `index [${index}]`).toBe(true);
    else expect(t.get(...index), `index [${index}]`).toBe(clean.get(...index));
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < t.shape[k]) break;
      index[k] = 0;
    }
  }
}

describe('batch norm', () => {
  const x = randn([4, 3, 2], 1);

  it.each(POISONS)('train with trackRunningStats: %s in the batch → E_NONFINITE, running statistics and counter unchanged', (poison) => {
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    bn.forward(x);
    bn.backward(randn([4, 3, 2], 2));
    const before = layerBytes(bn);
    let error: unknown = null;
    try {
      bn.forward(poisoned(x, [2, 1, 0], poison));
    } catch (e) {
      error = e;
    }
    expect(isNormkitError(error, 'E_NONFINITE')).toBe(true);
    expect(layerChanges(before, bn)).toEqual([]);
    expect(bn.numBatchesTracked).toBe(1);
  });

  it('train with trackRunningStats, momentum null: NaN is refused too (the cumulative average would keep it forever)', () => {
    const bn = new BatchNorm({ numFeatures: 3, momentum: null }, { dtype: 'float64' });
    const before = layerBytes(bn);
    expect(() => bn.forward(poisoned(x, [0, 0, 0], Number.NaN))).toThrow(expect.objectContaining({ code: 'E_NONFINITE' }));
    expect(layerChanges(before, bn)).toEqual([]);
  });

  it.each(POISONS)('train without running statistics: %s makes its channel NaN, the other channels are exact', (poison) => {
    const clean = new BatchNorm({ numFeatures: 3, trackRunningStats: false }, { dtype: 'float64' }).forward(x);
    const bn = new BatchNorm({ numFeatures: 3, trackRunningStats: false }, { dtype: 'float64' });
    const y = bn.forward(poisoned(x, [1, 2, 1], poison));
    expectOnlyWhere(y, clean, (i) => i[1] === 2);
    expect(bn.state).toEqual({});
  });

  it.each(POISONS)('eval with running statistics: %s gives NaN or ±Inf at its own element only; state unchanged', (poison) => {
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    bn.forward(x);
    bn.eval();
    const clean = bn.forward(x);
    const before = layerBytes(bn);
    const y = bn.forward(poisoned(x, [3, 0, 1], poison));
    const rank = y.shape.length;
    void rank;
    for (let n = 0; n < 4; n++) for (let c = 0; c < 3; c++) for (let l = 0; l < 2; l++) {
      if (n === 3 && c === 0 && l === 1) expect(Number.isFinite(y.get(n, c, l))).toBe(false);
      else expect(y.get(n, c, l)).toBe(clean.get(n, c, l));
    }
    expect(layerChanges(before, bn)).toEqual([]);
  });

  it('eval without running statistics: NaN makes its channel NaN (batch statistics), no error', () => {
    const clean = new BatchNorm({ numFeatures: 3, trackRunningStats: false }, { dtype: 'float64' }).eval().forward(x);
    const y = new BatchNorm({ numFeatures: 3, trackRunningStats: false }, { dtype: 'float64' }).eval().forward(poisoned(x, [0, 1, 0], Number.NaN));
    expectOnlyWhere(y, clean, (i) => i[1] === 1);
  });

  it('NaN or ±Infinity in a loaded state dict → E_NONFINITE, nothing loaded', () => {
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    bn.forward(x);
    const before = layerBytes(bn);
    for (const poison of POISONS) {
      const dict = bn.stateDict() as Record<string, Tensor>;
      dict.runningVar.set(1, poison);
      expect(() => bn.loadStateDict(dict)).toThrow(expect.objectContaining({ code: 'E_NONFINITE' }));
      expect(layerChanges(before, bn)).toEqual([]);
    }
  });
});

describe('layer norm', () => {
  it.each(POISONS)('%s in a row makes that row of y and dx NaN, the other rows exact; dweight NaN; no error', (poison) => {
    const x = randn([4, 5], 1);
    const dy = randn([4, 5], 2);
    const ref = new LayerNorm({ normalizedShape: 5 }, { dtype: 'float64' });
    const cleanY = ref.forward(x);
    const cleanDx = ref.backward(dy);
    const ln = new LayerNorm({ normalizedShape: 5 }, { dtype: 'float64' });
    const y = ln.forward(poisoned(x, [2, 3], poison));
    const dx = ln.backward(dy);
    expectOnlyWhere(y, cleanY, (i) => i[0] === 2);
    expectOnlyWhere(dx, cleanDx, (i) => i[0] === 2);
    expect(valuesOf(ln.grads.weight as Tensor).every(Number.isNaN)).toBe(true);
    expect(ln.state).toEqual({});
  });
});

describe('weight norm', () => {
  it('NaN in a slice of v makes that slice of w NaN, the other slices exact; no error', () => {
    const v = randn([3, 4], 1);
    const layer = new WeightNorm({ shape: [3, 4], dim: 0 }, { dtype: 'float64' });
    const clean = layer.forward(v);
    const w = layer.forward(poisoned(v, [1, 2], Number.NaN));
    expectOnlyWhere(w, clean, (i) => i[0] === 1);
  });

  it.each([Infinity, -Infinity])('%s in a slice of v: ‖v‖ = ∞, so w is NaN there and 0 elsewhere in the slice; other slices exact', (poison) => {
    const v = randn([3, 4], 1);
    const layer = new WeightNorm({ shape: [3, 4], dim: 0 }, { dtype: 'float64' });
    const clean = layer.forward(v);
    const w = layer.forward(poisoned(v, [1, 2], poison));
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) {
      if (r !== 1) expect(w.get(r, c)).toBe(clean.get(r, c));
      else if (c === 2) expect(Number.isNaN(w.get(r, c))).toBe(true);
      else expect(Math.abs(w.get(r, c))).toBe(0);
    }
  });

  it('NaN in x of weight-norm-linear makes its row of y NaN, the other rows exact; no error', () => {
    const x = randn([4, 3], 1);
    const fc = new WeightNormLinear({ inFeatures: 3, outFeatures: 2 }, { dtype: 'float64' });
    const clean = fc.forward(x);
    const y = fc.forward(poisoned(x, [1, 0], Number.NaN));
    expectOnlyWhere(y, clean, (i) => i[0] === 1);
  });
});
