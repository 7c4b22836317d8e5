import { batchStatistics, normalizeBackward, planNormalization, viewOf, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn, scaledError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { useExplicitBackend, vector } from '../test/explicit-backend.js';
import { fitsFloat32 } from './float32-range.js';

// The input gradient's per-cell coefficients (b ∝ 1/σ² above all) are float32 in the kernels.
// When σ is huge (1e25) or invStd is (tiny data, tiny eps), they leave float32's normal range and
// the wasm result would lose the x̂·Σ(dy·x̂) term or become ±Infinity; such calls go to the
// TypeScript kernels. Both runs must then agree to float32 accuracy (scaled error 4e-6, as the
// other backend comparisons; 70 % and Infinity before).

const explicit = useExplicitBackend(8 * 1024 * 1024);

describe('fitsFloat32', () => {
  it('passes zero, normal floats and NaN; refuses overflow and subnormal magnitudes', () => {
    expect(fitsFloat32(new Float64Array([0, -0, 1, -3.4e38, 1.2e-38, NaN]))).toBe(true);
    expect(fitsFloat32(new Float64Array([1]), new Float64Array([3.5e38]))).toBe(false);
    expect(fitsFloat32(new Float64Array([-1e-39]))).toBe(false);
    expect(fitsFloat32(new Float64Array([Infinity]))).toBe(false);
  });
});

describe('backwardCells with coefficients outside float32', () => {
  function backward(x: Tensor, dy: Tensor, eps: number): Tensor {
    const plan = planNormalization(x.shape, [1], [1]);
    const stats = batchStatistics(viewOf(x), plan, true, eps);
    const dx = zeros(x.shape, 'float32');
    normalizeBackward(viewOf(x), viewOf(dy), plan, stats, vector(x.shape[1], 7, 1, 0.5), { centered: true, batchStats: true }, viewOf(dx));
    return dx;
  }

  it.each([
    ['σ ≈ 1e25', 1e25, 1e-5],
    ['σ ≈ 1e21', 1e21, 1e-5],
    ['σ ≈ 1e-20 with eps 1e-43', 1e-20, 1e-43],
  ])('%s: declined (the fused backwardCells, then the split inputGradient), and dx equals the TypeScript kernels', (_what, scale, eps) => {
    const x = randn([8, 5], 11, 'float32', 0, scale);
    const dy = randn([8, 5], 12, 'float32');
    const declinedBefore = explicit.backend.counters.declined;
    const wasm = backward(x, dy, eps);
    const declined = explicit.backend.counters.declined - declinedBefore;
    const ts = explicit.onTypeScript(() => backward(x, dy, eps));
    expect(Array.from(wasm.data).every(Number.isFinite)).toBe(true);
    expect(scaledError(wasm, ts)).toBeLessThan(4e-6);
    expect(declined).toBe(2);
  });

  it('ordinary data still runs in wasm', () => {
    const x = randn([8, 5], 13, 'float32', 3, 2);
    const dy = randn([8, 5], 14, 'float32');
    const handledBefore = explicit.backend.counters.kernels.backwardCells;
    const wasm = backward(x, dy, 1e-5);
    expect(explicit.backend.counters.kernels.backwardCells - handledBefore).toBe(1);
    expect(scaledError(wasm, explicit.onTypeScript(() => backward(x, dy, 1e-5)))).toBeLessThan(4e-6);
  });
});
