import { toTypedArray, zeros } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './layer.js';
import { batchNorm } from './plugin.js';

const codeOf = errorCode;

describe('preallocated outputs (out)', () => {
  it('writes y and dx into the given buffers and returns them, bit-identical to fresh outputs', () => {
    for (const [shape, channelAxis] of [[[6, 5], 1], [[2, 3, 4, 4], 1], [[2, 4, 4, 3], -1]] as const) {
      const channels = shape[channelAxis < 0 ? shape.length + channelAxis : channelAxis];
      const bn = batchNorm.create({ numFeatures: channels, channelAxis });
      const { params, state } = bn.init('float32');
      const x = randn(shape, 1, 'float32');
      const dy = randn(shape, 2, 'float32');
      const yOut = zeros(shape, 'float32');
      const dxOut = zeros(shape, 'float32');
      const fresh = bn.forward({ x, params, state, mode: 'train' });
      const reused = bn.forward({ x, params, state, mode: 'train', out: yOut });
      expect(reused.y).toBe(yOut);
      expect(Array.from(yOut.data)).toEqual(Array.from(toTypedArray(fresh.y)));
      const dxFresh = bn.backward({ dy, params, saved: fresh.saved }).dx;
      const dxReused = bn.backward({ dy, params, saved: reused.saved, out: dxOut }).dx;
      expect(dxReused).toBe(dxOut);
      expect(Array.from(dxOut.data)).toEqual(Array.from(toTypedArray(dxFresh)));
    }
  });

  it('writes into an out that starts at an offset of a larger buffer, and nowhere else', () => {
    const bn = batchNorm.create({ numFeatures: 3, channelAxis: -1 });
    const { params, state } = bn.init('float64');
    const x = randn([4, 3], 1);
    const fresh = bn.forward({ x, params, state, mode: 'train' });
    const big = zeros([6, 3], 'float64');
    big.data.fill(-7);
    const out = big.lo(1, 0).hi(4, 3); // rows 1..4 of 6: contiguous, offset 3
    const { y } = bn.forward({ x, params, state, mode: 'train', out });
    expect(y.data.buffer).toBe(big.data.buffer);
    expect(Array.from(toTypedArray(out))).toEqual(Array.from(toTypedArray(fresh.y)));
    expect(Array.from(big.data.subarray(0, 3))).toEqual([-7, -7, -7]);
    expect(Array.from(big.data.subarray(15, 18))).toEqual([-7, -7, -7]);
  });

  it('lets a training loop reuse its buffers through the layer', () => {
    const bn = new BatchNorm({ numFeatures: 3 });
    const y = zeros([8, 3, 2], 'float32');
    const dx = zeros([8, 3, 2], 'float32');
    for (let step = 0; step < 3; step++) {
      expect(bn.forward(randn([8, 3, 2], step, 'float32'), y)).toBe(y);
      expect(bn.backward(randn([8, 3, 2], step + 10, 'float32'), dx)).toBe(dx);
    }
    expect(bn.numBatchesTracked).toBe(3);
  });

  it('rejects an out of another shape, dtype, layout, or sharing the input buffer, before writing anything', () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float64');
    const x = randn([4, 3], 1);
    const cases: [unknown, string][] = [
      [zeros([3, 4], 'float64'), 'E_SHAPE'],
      [zeros([4, 3], 'float32'), 'E_DTYPE'],
      [zeros([3, 4], 'float64').transpose(1, 0), 'E_SHAPE'],
      [x, 'E_SHAPE'],
      [[0, 0, 0], 'E_DTYPE'],
    ];
    for (const [out, code] of cases) {
      const before = Array.from(toTypedArray(state.runningMean!));
      expect(codeOf(() => bn.forward({ x, params, state, mode: 'train', out: out as never }))).toBe(code);
      expect(Array.from(toTypedArray(state.runningMean!))).toEqual(before);
    }
  });
});
