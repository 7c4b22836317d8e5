import { toTypedArray, zeros } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { weightNorm } from './plugin.js';

describe('preallocated outputs (out)', () => {
  it('writes w and dv into the given buffers, bit-identical to fresh outputs, and rejects bad ones', () => {
    const wn = weightNorm.create({ shape: [5, 4], dim: 0 });
    const { params, state } = wn.init('float64');
    const v = randn([5, 4], 1);
    const dw = randn([5, 4], 2);
    const fresh = wn.forward({ x: v, params, state, mode: 'train' });
    const wOut = zeros([5, 4], 'float64');
    const reused = wn.forward({ x: v, params, state, mode: 'train', out: wOut });
    expect(reused.y).toBe(wOut);
    expect(Array.from(wOut.data)).toEqual(Array.from(toTypedArray(fresh.y)));
    const dvOut = zeros([5, 4], 'float64');
    expect(wn.backward({ dy: dw, params, saved: reused.saved, out: dvOut }).dx).toBe(dvOut);
    expect(Array.from(dvOut.data)).toEqual(Array.from(toTypedArray(wn.backward({ dy: dw, params, saved: fresh.saved }).dx)));
    for (const [out, code] of [[zeros([5, 4], 'float32'), 'E_DTYPE'], [zeros([4, 5], 'float64'), 'E_SHAPE'], [v, 'E_SHAPE']] as const) {
      expect(() => wn.forward({ x: v, params, state, mode: 'train', out })).toThrow(expect.objectContaining({ code }));
    }
    for (const [out, code] of [[zeros([5, 4], 'float32'), 'E_DTYPE'], [zeros([4, 5], 'float64'), 'E_SHAPE'], [dw, 'E_SHAPE']] as const) {
      expect(() => wn.backward({ dy: dw, params, saved: fresh.saved, out })).toThrow(expect.objectContaining({ code }));
    }
  });
});
