import ndarray from 'ndarray';
import { fromArray, isNormkitError, tensor, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { LayerNorm } from './layer.js';
import { layerNorm } from './plugin.js';

function bytes(t: Tensor): string {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isNormkitError(e) ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

describe('preallocated outputs (out)', () => {
  it('writes y and dx into the given buffers, bit-identical to fresh outputs, and rejects bad ones', () => {
    const ln = layerNorm.create({ normalizedShape: [6] });
    const { params, state } = ln.init('float32');
    const x = randn([4, 6], 1, 'float32');
    const dy = randn([4, 6], 2, 'float32');
    const fresh = ln.forward({ x, params, state, mode: 'train' });
    const yOut = zeros([4, 6], 'float32');
    const reused = ln.forward({ x, params, state, mode: 'train', out: yOut });
    expect(reused.y).toBe(yOut);
    expect(Array.from(yOut.data)).toEqual(Array.from(toTypedArray(fresh.y)));
    const dxOut = zeros([4, 6], 'float32');
    expect(ln.backward({ dy, params, saved: reused.saved, out: dxOut }).dx).toBe(dxOut);
    expect(Array.from(dxOut.data)).toEqual(Array.from(toTypedArray(ln.backward({ dy, params, saved: fresh.saved }).dx)));
    for (const [out, code] of [[zeros([4, 6], 'float64'), 'E_DTYPE'], [zeros([6, 4], 'float32'), 'E_SHAPE'], [x, 'E_SHAPE']] as const) {
      expect(() => ln.forward({ x, params, state, mode: 'train', out })).toThrow(expect.objectContaining({ code }));
    }
  });

  it('writes into an out at an offset of a larger buffer (the returned y shares its memory) and nowhere else', () => {
    const ln = layerNorm.create({ normalizedShape: [3] });
    const { params, state } = ln.init('float64');
    const x = randn([2, 3], 3);
    const big = zeros([4, 3], 'float64');
    big.data.fill(-7);
    const out = big.lo(1, 0).hi(2, 3);
    const { y } = ln.forward({ x, params, state, mode: 'train', out });
    expect(y.data.buffer).toBe(big.data.buffer);
    expect(Array.from(toTypedArray(out))).toEqual(Array.from(toTypedArray(ln.forward({ x, params, state, mode: 'train' }).y)));
    expect(Array.from(big.data.subarray(0, 3))).toEqual([-7, -7, -7]);
    expect(Array.from(big.data.subarray(9, 12))).toEqual([-7, -7, -7]);
  });

  it('lets a training loop reuse its buffers through the layer', () => {
    const norm = new LayerNorm({ normalizedShape: 5 });
    const y = zeros([3, 5], 'float32');
    const dx = zeros([3, 5], 'float32');
    for (let step = 0; step < 3; step++) {
      expect(norm.forward(randn([3, 5], step, 'float32'), y)).toBe(y);
      expect(norm.backward(randn([3, 5], step + 10, 'float32'), dx)).toBe(dx);
    }
    expect(Array.from(toTypedArray(norm.grads.bias!)).some((v) => v !== 0)).toBe(true);
  });
});

// Regression (engine issue): y written into a buffer that is also γ would overwrite γ while
// the kernel reads it. Forward must refuse such an out with E_SHAPE before computing anything.
describe('an out that is a parameter’s own memory', () => {
  it('forward with out = params.weight throws E_SHAPE and changes nothing', () => {
    // x of exactly normalizedShape: one row, so out may have the weight's very shape
    const ln = layerNorm.create({ normalizedShape: [4] });
    const weight = fromArray([1, 2, 3, 4], 'float64');
    const bias = fromArray([0.5, 0.5, 0.5, 0.5], 'float64');
    const x = randn([4], 1);
    const before = [x, weight, bias].map(bytes);
    expect(codeOf(() => ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train', out: weight }))).toBe('E_SHAPE');
    expect(codeOf(() => ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train', out: bias }))).toBe('E_SHAPE');
    expect([x, weight, bias].map(bytes)).toEqual(before);
    // and the message says what is wrong with out
    try {
      ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train', out: weight });
    } catch (e) {
      expect((e as Error).message).toBe('out: expected memory of its own, got memory shared with an input, a parameter or the state it would overwrite');
    }
  });

  it('forward with an out overlapping params.weight (views of one buffer) throws E_SHAPE and changes nothing', () => {
    const ln = layerNorm.create({ normalizedShape: [3] });
    const arena = new Float64Array(20);
    arena.set([1, 2, 3], 6); // weight at [6, 9)
    const weight = tensor(arena.subarray(6, 9), [3]);
    const bias = fromArray([0, 0, 0], 'float64');
    const x = randn([2, 3], 2);
    const before = bytes(tensor(arena, [20]));
    for (const start of [1, 3, 6, 8]) { // [start, start + 6) meets [6, 9)
      const out = tensor(arena.subarray(start, start + 6), [2, 3]);
      expect(codeOf(() => ln.forward({ x, params: { weight, bias }, state: {}, mode: 'eval', out }))).toBe('E_SHAPE');
    }
    // a strided ndarray view of the same buffer, starting inside the weight
    const offsetView = ndarray(arena, [2, 3], [3, 1], 7);
    expect(codeOf(() => ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train', out: offsetView as Tensor }))).toBe('E_SHAPE');
    expect(bytes(tensor(arena, [20]))).toBe(before);
    // the same buffer just before or just past the weight is fine
    for (const start of [0, 9]) {
      const out = tensor(arena.subarray(start, start + 6), [2, 3]);
      expect(codeOf(() => ln.forward({ x, params: { weight, bias }, state: {}, mode: 'train', out }))).toBeUndefined();
    }
    expect(Array.from(arena.subarray(6, 9))).toEqual([1, 2, 3]);
  });

  it('backward with a dx out over params.weight or over dy throws E_SHAPE and changes nothing', () => {
    const ln = layerNorm.create({ normalizedShape: [4] });
    const weight = fromArray([1, 2, 3, 4], 'float64');
    const params = { weight, bias: fromArray([0, 0, 0, 0], 'float64') };
    const x = randn([4], 3);
    const dy = randn([4], 4);
    const { saved } = ln.forward({ x, params, state: {}, mode: 'train' });
    const before = [x, dy, weight].map(bytes);
    expect(codeOf(() => ln.backward({ dy, params, saved, out: weight }))).toBe('E_SHAPE');
    expect(codeOf(() => ln.backward({ dy, params, saved, out: dy }))).toBe('E_SHAPE');
    expect(codeOf(() => ln.backward({ dy, params, saved, out: x }))).toBe('E_SHAPE');
    expect([x, dy, weight].map(bytes)).toEqual(before);
  });

  it('the layer refuses its own weight as out, keeping weight, gradients and the saved call', () => {
    const norm = new LayerNorm({ normalizedShape: 3 }, { dtype: 'float64' });
    const x = randn([3], 5);
    norm.forward(x);
    const weightBefore = bytes(norm.weight!);
    expect(codeOf(() => norm.forward(randn([3], 6), norm.weight))).toBe('E_SHAPE');
    expect(bytes(norm.weight!)).toBe(weightBefore);
    // backward still differentiates the last good forward call (of x)
    const dx = norm.backward(fromArray([1, 0, 0], 'float64'));
    const expected = layerNorm.create({ normalizedShape: 3 }).backward({ dy: fromArray([1, 0, 0], 'float64'), params: norm.params, saved: layerNorm.create({ normalizedShape: 3 }).forward({ x, params: norm.params, state: {}, mode: 'train' }).saved }).dx;
    expect(Array.from(toTypedArray(dx))).toEqual(Array.from(toTypedArray(expected)));
  });
});
