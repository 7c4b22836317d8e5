import { toTypedArray, zeros } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { layerNorm } from './plugin.js';

describe('preallocated outputs (out)', () => {
  it('writes y and dx into the given buffers, bit-identical to fresh outputs, and rejects bad ones', () => {
    const options = layerNorm.resolveOptions({ normalizedShape: [6] });
    const { params, state } = layerNorm.init(options, 'float32');
    const x = randn([4, 6], 1, 'float32');
    const dy = randn([4, 6], 2, 'float32');
    const fresh = layerNorm.forward({ x, params, state, mode: 'train' }, options);
    const yOut = zeros([4, 6], 'float32');
    const reused = layerNorm.forward({ x, params, state, mode: 'train', out: yOut }, options);
    expect(reused.y).toBe(yOut);
    expect(Array.from(yOut.data)).toEqual(Array.from(toTypedArray(fresh.y)));
    const dxOut = zeros([4, 6], 'float32');
    expect(layerNorm.backward({ dy, params, saved: reused.saved, out: dxOut }, options).dx).toBe(dxOut);
    expect(Array.from(dxOut.data)).toEqual(Array.from(toTypedArray(layerNorm.backward({ dy, params, saved: fresh.saved }, options).dx)));
    for (const [out, code] of [[zeros([4, 6], 'float64'), 'E_DTYPE'], [zeros([6, 4], 'float32'), 'E_SHAPE'], [x, 'E_SHAPE']] as const) {
      expect(() => layerNorm.forward({ x, params, state, mode: 'train', out }, options)).toThrow(expect.objectContaining({ code }));
    }
  });
});
