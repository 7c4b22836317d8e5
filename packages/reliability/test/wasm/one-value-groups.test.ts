// One value per statistics group with centered batch statistics: x̂ ≡ 0, so y ≡ β and dx ≡ 0
// exactly (PyTorch gives exact zeros too). The default wasm backend computes dx in float32 as
// a·dy + b·(x − m) + k; core's folding makes every coefficient 0 for such groups, so the zeros
// are exact there as well, not a rounding residue of a·dy (≈ 1e-5 with eps = 1e-5, a = 316).
import { groupNorm } from '@normkit/group-norm';
import { layerNorm } from '@normkit/layer-norm';
import { fromArray, toTypedArray } from '@normkit/core';
import { defaultWasm } from '@normkit/wasm';
import { describe, expect, it } from 'vitest';

const x = fromArray([0.3, -1.7, 2.1, 0.9, -0.4], [5, 1, 1, 1], 'float32');
const dy = fromArray([1.2, -0.3, 0.8, 2.0, -1.1], [5, 1, 1, 1], 'float32');

describe('one value per group, float32, default wasm backend', () => {
  it.each([
    ['layer norm over [1], no affine', layerNorm.create({ normalizedShape: [1], elementwiseAffine: false, bias: false })],
    ['layer norm over [1, 1, 1], no affine', layerNorm.create({ normalizedShape: [1, 1, 1], elementwiseAffine: false, bias: false })],
    // Accepted as PyTorch accepts it: one group of one channel and no spatial extent, five samples.
    ['group norm, one value per group, affine', groupNorm.create({ numGroups: 1, numChannels: 1 })],
  ] as const)('%s: dx is exactly 0, computed in wasm', async (_, norm) => {
    const wasm = await defaultWasm();
    expect(wasm).not.toBeNull();
    const { params, state } = norm.init('float32');
    const handled = wasm!.counters.handled;
    const f = norm.forward({ x, params, state, mode: 'train' });
    const b = norm.backward({ dy, params, saved: f.saved });
    expect(wasm!.counters.handled).toBeGreaterThan(handled);
    expect(Array.from(toTypedArray(b.dx))).toEqual([0, 0, 0, 0, 0]);
  });
});
