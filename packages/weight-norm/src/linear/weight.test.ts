import { describe, expect, it } from 'vitest';
import { dtypeOf, fromArray, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../../test/errors.js';
import { scaledMaxError } from '../../test/numeric.js';
import { materializeLinearWeight } from './weight.js';

/** W by plain loops: row o of v times g_o / hypot(row o). */
function plainWeight(v: Tensor, g: Tensor): Float64Array {
  const [out, inF] = v.shape;
  const w = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) {
    const row = Array.from({ length: inF }, (_, i) => v.get(o, i));
    const norm = Math.hypot(...row);
    row.forEach((x, i) => (w[o * inF + i] = (g.get(o) * x) / norm));
  }
  return w;
}

describe('materializeLinearWeight', () => {
  it('W = g·v/‖v‖ per row in v’s dtype (float64 to 1e-15, float32 to 1e-6); with eps, ‖v‖ = sqrt(Σv² + eps)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const v = randn([3, 5], 1, dtype);
      const g = randn([3], 2, dtype);
      const w = materializeLinearWeight({ v, g }, { inFeatures: 5, outFeatures: 3 });
      expect(dtypeOf(w)).toBe(dtype);
      expect(scaledMaxError(toTypedArray(w), plainWeight(v, g))).toBeLessThan(dtype === 'float64' ? 1e-15 : 1e-6);
    }
    const w = materializeLinearWeight({ v: fromArray([3, 4], [1, 2], 'float64'), g: fromArray([1], [1], 'float64') }, { inFeatures: 2, outFeatures: 1, eps: 11 });
    expect(Array.from(toTypedArray(w))).toEqual([0.5, 4 / 6]);
  });

  it('misshapen parameters → E_SHAPE; a missing g → E_STATE; a zero row → E_DEGENERATE; bad options → E_OPTION', () => {
    const v = randn([3, 5], 1);
    expectCode(() => materializeLinearWeight({ v, g: randn([3, 1], 2) }, { inFeatures: 5, outFeatures: 3 }), 'E_SHAPE');
    expectCode(() => materializeLinearWeight({ v }, { inFeatures: 5, outFeatures: 3 }), 'E_STATE');
    expectCode(() => materializeLinearWeight({ v: fromArray([0, 0, 1, 1], [2, 2], 'float64'), g: randn([2], 2) }, { inFeatures: 2, outFeatures: 2 }), 'E_DEGENERATE');
    expectCode(() => materializeLinearWeight({ v, g: randn([3], 2) }, { inFeatures: 0, outFeatures: 3 }), 'E_OPTION');
  });
});
