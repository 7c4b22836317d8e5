import { toTypedArray, zeros } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './batch-norm.js';
import { batchNorm } from './plugin.js';

const codeOf = errorCode;

describe('preallocated outputs (out)', () => {
  it('writes y and dx into the given buffers and returns them, bit-identical to fresh outputs', () => {
    for (const [shape, channelAxis] of [[[6, 5], 1], [[2, 3, 4, 4], 1], [[2, 4, 4, 3], -1]] as const) {
      const channels = shape[channelAxis < 0 ? shape.length + channelAxis : channelAxis];
      const options = batchNorm.resolveOptions({ numFeatures: channels, channelAxis });
      const { params, state } = batchNorm.init(options, 'float32');
      const x = randn(shape, 1, 'float32');
      const dy = randn(shape, 2, 'float32');
      const yOut = zeros(shape, 'float32');
      const dxOut = zeros(shape, 'float32');
      const fresh = batchNorm.forward({ x, params, state, mode: 'train' }, options);
      const reused = batchNorm.forward({ x, params, state, mode: 'train', out: yOut }, options);
      expect(reused.y).toBe(yOut);
      expect(Array.from(yOut.data)).toEqual(Array.from(toTypedArray(fresh.y)));
      const dxFresh = batchNorm.backward({ dy, params, saved: fresh.saved }, options).dx;
      const dxReused = batchNorm.backward({ dy, params, saved: reused.saved, out: dxOut }, options).dx;
      expect(dxReused).toBe(dxOut);
      expect(Array.from(dxOut.data)).toEqual(Array.from(toTypedArray(dxFresh)));
    }
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
    const options = batchNorm.resolveOptions({ numFeatures: 3 });
    const { params, state } = batchNorm.init(options, 'float64');
    const x = randn([4, 3], 1);
    const cases: [unknown, string][] = [
      [zeros([3, 4]), 'E_SHAPE'],
      [zeros([4, 3], 'float32'), 'E_DTYPE'],
      [zeros([3, 4]).transpose(1, 0), 'E_SHAPE'],
      [x, 'E_SHAPE'],
      [[0, 0, 0], 'E_DTYPE'],
    ];
    for (const [out, code] of cases) {
      const before = Array.from(toTypedArray(state.runningMean!));
      expect(codeOf(() => batchNorm.forward({ x, params, state, mode: 'train', out: out as never }, options))).toBe(code);
      expect(Array.from(toTypedArray(state.runningMean!))).toEqual(before);
    }
  });
});
