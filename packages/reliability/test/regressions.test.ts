/**
 * Named regression tests: shrunk counterexamples found by the property suites and the
 * bad-input table. Tests titled `fixed:` guard a bug that was found and fixed; tests marked
 * `it.fails` document a bug or limit that is NOT fixed yet: they pass while it is there and will
 * fail — flip them to `it` — once fixed.
 */
import { describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { BatchNorm, batchNorm } from '@normkit/batch-norm';
import { NormkitError, fromArray, full, isNormkitError } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { checkGradients } from '@normkit/gradcheck';
import { LayerNorm, layerNorm } from '@normkit/layer-norm';
import { randn } from '@normkit/testkit';
import { WeightNorm, weightNorm } from '@normkit/weight-norm';
import { RTOL_STRIDED, assertClose, contiguousSpec, drawValues, layerBytes, layerChanges, makeView, maxAbs, valuesOf } from '../src/index.js';
import type { ViewSpec } from '../src/index.js';

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    return isNormkitError(e) ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('bugs found by the suites (it: fixed; it.fails: not fixed yet)', () => {
  // Found by the bad-input table ("saved null/{}/a number → E_STATE"): batchNorm.backward
  // destructures `saved` without checking it. Minimal: batchNorm.backward({ dy, params, saved: null }).
  it('fixed: batch-norm backward with a saved value that is not a forward result → E_STATE (was a TypeError)', () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params } = bn.init('float64');
    for (const saved of [null, {}, 7]) {
      expect(codeOf(() => bn.backward({ dy: randn([2, 3], 1), params, saved: saved as never }))).toBe('E_STATE');
    }
  });

  // Found by the bad-input table ("null → E_OPTION", Layer constructor): `options.shape ?? …`
  // on null. Minimal: new WeightNorm(null).
  it('fixed: new WeightNorm(null) → E_OPTION (was a TypeError)', () => {
    expect(codeOf(() => new WeightNorm(null as never))).toBe('E_OPTION');
  });

  // A state dict may carry any finite numBatchesTracked: -1 makes the next step 0 and, with
  // momentum null, the factor 1/0 poisons the running statistics with NaN silently.
  // Minimal: BatchNorm({ numFeatures: 2, momentum: null }), load numBatchesTracked = -1, forward.
  it('fixed: batch-norm refuses a negative numBatchesTracked (E_STATE) instead of poisoning the running statistics (momentum null)', () => {
    const bn = new BatchNorm({ numFeatures: 2, momentum: null }, { dtype: 'float64' });
    const dict = { ...bn.stateDict(), numBatchesTracked: full([], 'float64', -1) };
    let rejected = false;
    try {
      bn.loadStateDict(dict);
      bn.forward(fromArray([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'float64'));
    } catch (e) {
      rejected = e instanceof NormkitError;
    }
    expect(rejected || valuesOf(bn.runningMean as Tensor).every(Number.isFinite)).toBe(true);
  });

  // Found by the "finite outputs" property beyond its stated range: the moments square
  // deviations in float64, and for |x − μ| ≳ 1e154 the squares overflow. Re-checked against the
  // engine's moments kernel (core/src/engine/kernels/moments.ts): its one-pass shifted sums
  // (contiguous input, shift K = the first value) give Σ(x − K)² = ∞ and σ² = ∞ − ∞ = NaN; its
  // two-pass fallback (strided input) gives Σ(x − μ)² = ∞ and NaN the same way. Finite float64
  // inputs then still give NaN (layer norm, batch norm without tracking) or a spurious
  // E_NONFINITE (batch norm in training). Minimal: a row [3e200, 2e200]. The `it` tests below
  // pin the symptom, so each `it.fails` fails for the documented reason and no other.
  it.fails('layer-norm: finite float64 input [3e200, 2e200] gives NaN (variance overflow in the engine moments kernel)', () => {
    const ln = layerNorm.create({ normalizedShape: 2, elementwiseAffine: false });
    const { y } = ln.forward({ x: fromArray([3e200, 2e200], [1, 2], 'float64'), params: {}, state: {}, mode: 'train' });
    expect(valuesOf(y).every(Number.isFinite)).toBe(true);
  });

  it('known limit, pinned: layer-norm [3e200, 2e200] has a NaN variance (contiguous and strided input), so invStd and y are NaN; the mean is finite', () => {
    const ln = layerNorm.create({ normalizedShape: 2, elementwiseAffine: false });
    const contiguous = fromArray([3e200, 2e200], [1, 2], 'float64');
    const strided = ndarray(new Float64Array([3e200, 0, 2e200, 0]), [1, 2], [4, 2], 0) as Tensor;
    for (const x of [contiguous, strided]) {
      const { y, saved } = ln.forward({ x, params: {}, state: {}, mode: 'train' });
      expect(saved.center[0]).toBeCloseTo(2.5e200, -190);
      expect(Number.isNaN(saved.invStd[0])).toBe(true);
      expect(valuesOf(y).every(Number.isNaN)).toBe(true);
    }
  });

  it.fails('batch-norm: finite float64 training batch with |x| ~ 1e200 → E_NONFINITE although every value is finite', () => {
    const bn = new BatchNorm({ numFeatures: 1 }, { dtype: 'float64' });
    expect(codeOf(() => bn.forward(fromArray([3e200, 2e200, -1e200], [3, 1], 'float64')))).toBe('no error');
  });

  it('known limit, pinned: that batch-norm batch is refused with E_NONFINITE whose message names the variance overflow, and nothing changes', () => {
    const bn = new BatchNorm({ numFeatures: 1 }, { dtype: 'float64' });
    const before = layerBytes(bn);
    let error: unknown = null;
    try {
      bn.forward(fromArray([3e200, 2e200, -1e200], [3, 1], 'float64'));
    } catch (e) {
      error = e;
    }
    expect(isNormkitError(error, 'E_NONFINITE')).toBe(true);
    expect((error as Error).message).toContain('the variance overflows');
    expect(layerChanges(before, bn)).toEqual([]);
  });

  // Layer norm reads params with record[name], so inherited entries count; every other plugin
  // uses core's assertTensorMap (own properties only) and says E_STATE.
  it('fixed: layer-norm refuses params inherited through __proto__ with E_STATE, like the other plugins', () => {
    const ln = new LayerNorm({ normalizedShape: 4 }, { dtype: 'float64' });
    const inherited = Object.create(ln.params) as object;
    expect(codeOf(() => ln.normalizer.forward({ x: randn([2, 4], 1), params: inherited as never, state: {}, mode: 'train' }))).toBe('E_STATE');
  });

  // Found by the gradcheck property (shrunk to shape [1]): with one element per slice dv ≡ 0,
  // and gradcheck's linearity check scales its bound by max|dv| itself, so it compares rounding
  // noise (≈1e-15) with exactly 0. A false alarm of @normkit/gradcheck, not a weight-norm bug.
  it('fixed: gradcheck linearity false alarm when a gradient is identically zero (weight-norm, shape [1], dim 0)', () => {
    expect(checkGradients(weightNorm, { options: { shape: [1], dim: 0 }, shapes: [[1]], seed: 0 }).ok).toBe(true);
  });

  // Found by the fuzz run of the gradcheck property (base seed 1038259669): a slice of 2 small
  // values has a small norm, and central differences with h = ∛ε·max(1, |v|) are too coarse
  // (rel. error 1.1e-5 > 1e-5); Richardson extrapolation passes. A gradcheck false alarm.
  it('fixed: gradcheck truncation false alarm: weight-norm shape [2, 5], dim 1, seed 2', () => {
    expect(checkGradients(weightNorm, { options: { shape: [2, 5], dim: 1, eps: null }, shapes: [[2, 5]], modes: ['train', 'eval'], seed: 2 }).ok).toBe(true);
  });

  // Found by a fuzz run of the gradcheck property (base seed 2080784848): with 2 values per
  // channel, x̂ = ±1 and dx ≡ 0 up to eps/σ², so Σ|dx| ≈ 3e-8 while the rounding of the sum is
  // ≈ 4e-16 (terms of size |dy·γ·invStd| ≈ 1 cancel); the zero-sum bound 1e-8·Σ|dx| is 3e-16.
  // A false alarm of @normkit/gradcheck's invariant check, not a batch-norm bug.
  it('fixed: gradcheck zero-sum false alarm: batch-norm with 2 values per channel, shape [5, 1, 2], seed 1047407745', () => {
    const options = { numFeatures: 5, channelAxis: 0, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: false };
    expect(checkGradients(batchNorm, { options, shapes: [[5, 1, 2]], modes: ['train', 'eval'], seed: 1047407745 }).ok).toBe(true);
  });
});

describe('fixed behaviour pinned by shrunk counterexamples', () => {
  // Found by the "strided view = contiguous copy" property on the engine round (shrunk: layer
  // norm without affine, x of shape [5] with values 1000 + 0.01·N(0, 1), |μ|/σ ≈ 1e5, once
  // contiguous and once with stride 3): the contiguous normalizeCells loop folded the center
  // into the offset, y = x·s + (β − c·s), whose two terms of size |c|·s ≈ 1.4e5 cancel to
  // y ≈ 0.4 and left 2e-11 of rounding (the strided loop, (x − c)·s + β, was exact to 1e-16).
  // Fixed in core on main (da8bf77, "engine kernels subtract the center instead of folding it").
  it('fixed: layer-norm y of a strided view equals its contiguous copy within 1e-12 of scale when |mean|/σ ≈ 1e5', () => {
    const values = drawValues(5, { seed: 0, center: 1000, scale: 0.01 });
    const ln = layerNorm.create({ normalizedShape: [5], elementwiseAffine: false });
    const run = (spec: ViewSpec) => ln.forward({ x: makeView(values, [5], 'float64', spec), params: {}, state: {}, mode: 'train' }).y;
    const strided = run({ perm: [0], steps: [3], lo: [0], pad: 0 });
    const contiguous = run(contiguousSpec(1));
    assertClose('y strided vs contiguous', strided, contiguous, RTOL_STRIDED, maxAbs(valuesOf(contiguous)));
  });

  it('Richardson extrapolation clears the weight-norm truncation alarm (so the backward pass is right)', () => {
    expect(checkGradients(weightNorm, { options: { shape: [2, 5], dim: 1, eps: null }, shapes: [[2, 5]], modes: ['train', 'eval'], seed: 2, richardson: true }).ok).toBe(true);
  });

  it('batch-norm eval: channel count 1 per batch is fine with running statistics (no E_DEGENERATE)', () => {
    const bn = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
    bn.eval();
    const before = layerBytes(bn);
    expect(() => bn.forward(randn([1, 3], 1))).not.toThrow();
    expect(layerChanges(before, bn)).toEqual([]);
  });
});
