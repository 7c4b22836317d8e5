import { describe, expect, it } from 'vitest';
import { fromArray, toContiguous, toTypedArray, viewOf, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { perSlice, scaledMaxError } from '../test/numeric.js';
import { firstZeroSlice, sliceNorms, slicePlan, sliceStatistics, weightNormBackward, weightNormDoubleBackward, weightNormForward } from './direction.js';

/** ‖v‖ per slice along dim 0 by Math.hypot (exact to about 1 ulp for any finite values). */
function hypotNorms(v: Tensor): number[] {
  const [rows] = v.shape;
  const values = toTypedArray(v);
  const per = values.length / rows;
  return Array.from({ length: rows }, (_, r) => Math.hypot(...Array.from(values.subarray(r * per, (r + 1) * per))));
}

/** v with row r scaled by scales[r]. */
function scaleRows(v: Tensor, scales: number[]): Tensor {
  const values = toTypedArray(v);
  const per = values.length / v.shape[0];
  return fromArray(values.map((x, i) => x * scales[Math.floor(i / per)]), v.shape, 'float64');
}

function forward(v: Tensor, g: Float64Array, dim: number | null, eps = 0): Tensor {
  const plan = slicePlan(v.shape, dim);
  const w = zeros(v.shape, 'float64');
  weightNormForward(viewOf(v), plan, sliceStatistics(viewOf(v), plan, eps), g, viewOf(w));
  return w;
}

function backward(v: Tensor, dw: Tensor, g: Float64Array, dim: number | null, out: Tensor): Float64Array {
  const plan = slicePlan(v.shape, dim);
  return weightNormBackward(viewOf(v), viewOf(dw), plan, sliceStatistics(viewOf(v), plan, 0), g, viewOf(out));
}

describe('sliceNorms', () => {
  it('equals Math.hypot per slice for ordinary values, and for slices whose Σv² under- or overflows (to 1e-15 relative)', () => {
    const scales = [1, 1e-300, 1e300, 2 ** -540, 2 ** 520, 1e-310];
    const v = scaleRows(randn([6, 7], 1), scales);
    const norms = sliceNorms(viewOf(v), slicePlan(v.shape, 0), 0);
    const expected = hypotNorms(v);
    norms.forEach((n, r) => expect(Math.abs(n - expected[r])).toBeLessThanOrEqual(1e-15 * expected[r]));
  });

  it('joins eps inside the root on the rescaled path too: sqrt(Σv² + eps) (to 1e-15 relative)', () => {
    const v = scaleRows(randn([2, 3], 2), [1e-200, 1e200]);
    const eps = 2 ** -1000; // tiny: the 1e-200 slice still takes the rescaled path
    const norms = sliceNorms(viewOf(v), slicePlan(v.shape, 0), eps);
    const expected = hypotNorms(v).map((n) => Math.hypot(n, Math.sqrt(eps)));
    norms.forEach((n, r) => expect(Math.abs(n - expected[r])).toBeLessThanOrEqual(1e-15 * expected[r]));
  });

  it('NaN in a slice gives NaN, ±Infinity gives Infinity, zeros give 0 (or sqrt(eps)); other slices are untouched', () => {
    const v = fromArray([1, NaN, 3, -Infinity, 0, 0, 3, 4], [4, 2], 'float64');
    const plan = slicePlan(v.shape, 0);
    expect(Array.from(sliceNorms(viewOf(v), plan, 0))).toEqual([NaN, Infinity, 0, 5]);
    expect(Array.from(sliceNorms(viewOf(v), plan, 0.25))).toEqual([NaN, Infinity, 0.5, Math.sqrt(25.25)]);
  });
});

describe('sliceStatistics', () => {
  it('ordinary norms: center 0, invStd = 1/‖v‖, no inputScale', () => {
    const v = randn([3, 4], 3);
    const stats = sliceStatistics(viewOf(v), slicePlan(v.shape, 0), 0);
    expect(stats.inputScale).toBeNull();
    expect(Array.from(stats.center)).toEqual([0, 0, 0]);
    expect(scaledMaxError(Array.from(stats.invStd, (s) => 1 / s), hypotNorms(v))).toBeLessThan(1e-15);
  });

  it('norms outside [2^-256, 2^256] get a power-of-two inputScale bringing inputScale·‖v‖ to [1/√2, √2] (into range for subnormal slices); the others get 1', () => {
    const v = scaleRows(randn([4, 5], 4), [1, 1e200, 1e-200, 1e-320]);
    const stats = sliceStatistics(viewOf(v), slicePlan(v.shape, 0), 0);
    const scale = stats.inputScale as Float64Array;
    expect(scale).not.toBeNull();
    expect(scale[0]).toBe(1);
    const norms = hypotNorms(v);
    for (let r = 1; r < 4; r++) {
      expect(Number.isInteger(Math.log2(scale[r]))).toBe(true);
      const scaledNorm = 1 / stats.invStd[r];
      // A subnormal slice's factor is capped at 2^1000 (2^1074 is not a float64).
      const [low, high] = r < 3 ? [Math.SQRT1_2, Math.SQRT2] : [2 ** -256, 2 ** 256];
      expect(scaledNorm).toBeGreaterThanOrEqual(low);
      expect(scaledNorm).toBeLessThanOrEqual(high);
      // Math.hypot of subnormals is not exact: lift that row by 2^1060 (exactly) first.
      const expected = r < 3 ? scale[r] * norms[r] : scale[r] * 2 ** -530 * 2 ** -530 * hypotNorms(scaleRows(scaleRows(v, [1, 1, 1, 2 ** 530]), [1, 1, 1, 2 ** 530]))[3];
      expect(Math.abs(scaledNorm - expected)).toBeLessThanOrEqual(1e-15 * scaledNorm);
    }
  });

  it('a zero slice has invStd = Infinity, and firstZeroSlice finds it', () => {
    const v = fromArray([1, 2, 0, 0, 0, 0], [3, 2], 'float64');
    const stats = sliceStatistics(viewOf(v), slicePlan(v.shape, 0), 0);
    expect(stats.invStd[1]).toBe(Infinity);
    expect(firstZeroSlice(stats)).toBe(1);
    expect(firstZeroSlice(sliceStatistics(viewOf(v), slicePlan(v.shape, 0), 1e-12))).toBe(-1);
  });
});

describe('forward and backward on the rescaled path', () => {
  // Weight norm is invariant under per-slice scaling: w(s·v) = w(v) and s·dv(s·v) = dv(v).
  // Slices at 2^±660 take the inputScale path; the reference is the same values scaled back
  // by powers of two (exactly) onto the direct path. Rounding leaves a few ulps (1e-14).
  const shape = [4, 5];
  const v = randn(shape, 5);
  const big = scaleRows(v, [1, 2 ** 660, 2 ** -660, 2 ** -990]);
  const g = Float64Array.from([0.5, -2, 3, 1.5]);
  const dw = randn(shape, 6);

  it('w and dg equal the unscaled ones, dv times the scale equals the unscaled dv (to 1e-14 of scale)', () => {
    expect(sliceStatistics(viewOf(big), slicePlan(shape, 0), 0).inputScale).not.toBeNull();
    expect(scaledMaxError(toTypedArray(forward(big, g, 0)), toTypedArray(forward(v, g, 0)))).toBeLessThan(1e-14);
    const dvBig = zeros(shape, 'float64');
    const dvRef = zeros(shape, 'float64');
    const dgBig = backward(big, dw, g, 0, dvBig);
    const dgRef = backward(v, dw, g, 0, dvRef);
    expect(scaledMaxError(dgBig, dgRef)).toBeLessThan(1e-14);
    expect(scaledMaxError(toTypedArray(scaleRows(dvBig, [1, 2 ** 660, 2 ** -660, 2 ** -990])), toTypedArray(dvRef))).toBeLessThan(1e-14);
  });

  it('a slice of subnormals: w equals that of the same values scaled up by 2^1060 (exact), to 1e-15', () => {
    const tiny = scaleRows(v, [1, 1, 1, 1e-318]);
    const lifted = scaleRows(scaleRows(tiny, [1, 1, 1, 2 ** 530]), [1, 1, 1, 2 ** 530]);
    expect(scaledMaxError(toTypedArray(forward(tiny, g, 0)), toTypedArray(forward(lifted, g, 0)))).toBeLessThan(1e-15);
  });

  it('⟨dv, v⟩ = 0 per slice there too (|⟨dv, v⟩| ≤ 1e-14·‖dv‖·‖v‖ per slice)', () => {
    const dv = zeros(shape, 'float64');
    backward(big, dw, g, 0, dv);
    const inner = perSlice(dv, big, 0, (a, b) => a * b);
    const dvNorm = hypotNorms(dv);
    const vNorm = hypotNorms(big);
    inner.forEach((d, r) => expect(Math.abs(d)).toBeLessThanOrEqual(1e-14 * dvNorm[r] * vNorm[r]));
  });

  it('strided views and a float32 dv agree with contiguous float64 (float64 to 1e-15, float32 to 1e-6)', () => {
    const moderate = scaleRows(v, [1, 1e200, 1e-200, 1e-300]);
    const stridedV = toContiguous(moderate.transpose(1, 0)).transpose(1, 0);
    const stridedDw = toContiguous(dw.transpose(1, 0)).transpose(1, 0);
    const plain = zeros(shape, 'float64');
    const strided = zeros(shape, 'float64');
    const dg = backward(moderate, dw, g, 0, plain);
    expect(scaledMaxError(backward(stridedV, stridedDw, g, 0, strided), dg)).toBeLessThan(1e-15);
    expect(scaledMaxError(toTypedArray(strided), toTypedArray(plain))).toBeLessThan(1e-15);
    expect(scaledMaxError(toTypedArray(forward(stridedV, g, 0)), toTypedArray(forward(moderate, g, 0)))).toBeLessThan(1e-15);
    // float32 dv: only row 0 is representable (dv ~ 1e-200 in row 1 underflows to 0, and
    // ~1e200, 1e300 in rows 2, 3 overflow, as the true values would); row 0 agrees to float32 rounding.
    const single = zeros(shape, 'float32');
    backward(moderate, dw, g, 0, single);
    const row = (t: Tensor, r: number) => toTypedArray(t).subarray(r * 5, r * 5 + 5);
    expect(scaledMaxError(row(single, 0), row(plain, 0))).toBeLessThan(1e-6);
    expect(Array.from(row(single, 1), Math.abs)).toEqual([0, 0, 0, 0, 0]);
  });

  it('dim = null: one slice over the whole tensor at 1e250 equals the unscaled one (to 1e-14)', () => {
    const whole = fromArray(toTypedArray(v).map((x) => x * 1e250), shape, 'float64');
    const one = Float64Array.of(2);
    expect(scaledMaxError(toTypedArray(forward(whole, one, null)), toTypedArray(forward(v, one, null)))).toBeLessThan(1e-14);
    const dvBig = zeros(shape, 'float64');
    const dvRef = zeros(shape, 'float64');
    expect(scaledMaxError(backward(whole, dw, one, null, dvBig), backward(v, dw, one, null, dvRef))).toBeLessThan(1e-14);
    expect(scaledMaxError(toTypedArray(dvBig).map((x) => x * 1e250), toTypedArray(dvRef))).toBeLessThan(1e-14);
  });
});

describe('doubleBackward on the rescaled path', () => {
  // With v' = α·v per slice (α a power of two beyond 2^±256, so the engine works at v):
  // dv(v') = dv(v)/α and dg(v') = dg(v), so S' = ⟨a, dv(v')⟩ + Γ·dg(v') is S at v with the
  // cotangent a/α, and ∂S'/∂v' = (1/α)·∂S/∂v, ∂S'/∂dw = ∂S/∂dw, ∂S'/∂g = ∂S/∂g. Powers of
  // two scale exactly; rounding leaves a few ulps: 1e-14 of each slice's own largest value.
  const shape = [4, 5];
  const scales = [1, 2 ** 300, 2 ** -300, 2 ** 400];
  const v = randn(shape, 7);
  const big = scaleRows(v, scales);
  const g = Float64Array.from([0.5, -2, 3, 1.5]);
  const dw = randn(shape, 8);
  const a = randn(shape, 9);
  const bigGamma = Float64Array.from([0.3, -0.7, 1.1, 0.2]);
  const plan = slicePlan(shape, 0);
  const run = (at: Tensor, cotangent: Tensor) => {
    const dv = zeros(shape, 'float64');
    const ddw = zeros(shape, 'float64');
    const dg = weightNormDoubleBackward(viewOf(at), viewOf(dw), viewOf(cotangent), plan, sliceStatistics(viewOf(at), plan, 0), g, bigGamma, viewOf(dv), viewOf(ddw));
    return { dv, ddw, dg };
  };
  const row = (t: Tensor, r: number) => toTypedArray(t).subarray(r * 5, r * 5 + 5);
  /** max|a − e| / max|e| over one slice (its values may be far from 1: relative to the slice's own scale). */
  const sliceError = (actual: ArrayLike<number>, expected: ArrayLike<number>) => {
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    }
    return worst / scale;
  };

  it('equals the direct path with the cotangent a/α, ∂S/∂v scaled by 1/α (per slice, to 1e-14)', () => {
    expect(sliceStatistics(viewOf(big), plan, 0).inputScale).not.toBeNull();
    const scaled = run(big, a);
    const direct = run(v, scaleRows(a, scales.map((s) => 1 / s)));
    expect(sliceStatistics(viewOf(v), plan, 0).inputScale).toBeNull();
    const dvBack = scaleRows(scaled.dv, scales);
    for (let r = 0; r < 4; r++) {
      expect(sliceError(row(dvBack, r), row(direct.dv, r))).toBeLessThan(1e-14);
      expect(sliceError(row(scaled.ddw, r), row(direct.ddw, r))).toBeLessThan(1e-14);
      expect(Math.abs(scaled.dg[r] - direct.dg[r])).toBeLessThanOrEqual(1e-14 * Math.abs(direct.dg[r]));
    }
    // not trivially zero
    expect(Math.max(...Array.from(toTypedArray(direct.ddw), Math.abs))).toBeGreaterThan(1e-3);
  });
});
