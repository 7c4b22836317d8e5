// Weight norm has no eps by default, so rows of tiny or huge norm are ordinary inputs. On the
// default float32 path (wasm kernels) the input gradient's coefficient ∝ 1/‖v‖² once left
// float32's range: dv was ±Infinity for ‖v‖ ≈ 1e-20 and lost its projection term for ‖v‖ ≈ 1e25.
// Reference, per row, in float64: dv = g/‖v‖ · (dw − v·⟨dw, v⟩/‖v‖²). Tolerance 1e-6 of the row's
// largest |dv|: float32 inputs and output, a few roundings each.
import { setKernelBackendsEnabled, tensor } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { weightNorm } from './index.js';

const v0 = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1, -0.9, 0.5, 1.6, -2.2, 0.8, 0.1, -1.3, 0.6, 0.2];
const dw = [1, -0.5, 0.25, 0.75, -1, 0.5, 0.3, -0.2, 0.9, -0.6, 0.4, 0.1, -0.8, 0.7, -0.3];

describe('weight norm dv for rows of extreme norm (default kernels)', () => {
  it.each([1e-20, 1e-30, 1e20, 1e25, 1e30])('‖v‖ ≈ %s', (scale) => {
    setKernelBackendsEnabled(true);
    const v = Float32Array.from(v0, (t) => t * scale);
    const g = new Float32Array([1, 2, 0.5]);
    const plugin = weightNorm.create({ shape: [3, 5], dim: 0 });
    const params = { g: tensor(g, [3, 1]) };
    const forward = plugin.forward({ x: tensor(v.slice(), [3, 5]), params, state: {}, mode: 'train' });
    const dv = plugin.backward({ dy: tensor(Float32Array.from(dw), [3, 5]), params, saved: forward.saved }).dx;
    for (let r = 0; r < 3; r++) {
      const row = Array.from(v.subarray(5 * r, 5 * r + 5));
      const upstream = dw.slice(5 * r, 5 * r + 5);
      const norm = Math.sqrt(row.reduce((sum, t) => sum + t * t, 0));
      const along = row.reduce((sum, t, j) => sum + upstream[j] * t, 0) / (norm * norm);
      const expected = row.map((t, j) => (g[r] / norm) * (upstream[j] - t * along));
      const largest = Math.max(...expected.map(Math.abs));
      for (let j = 0; j < 5; j++) expect(Math.abs(dv.get(r, j) - expected[j]) / largest).toBeLessThan(1e-6);
    }
  });
});
