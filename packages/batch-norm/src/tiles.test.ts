import { toContiguous, toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { TILE_ELEMENTS, tileRows } from './kernels/tiles.js';
import { batchNorm } from './plugin.js';

// The channels-last fast path walks tiles of whole rows, four channels at a time, with a
// scalar loop for the C % 4 tail. These shapes cross tile boundaries and leave every tail
// size; the reference is the general strided path on a reversed view of the same values.
describe('channels-last tiles and channel tails', () => {
  const shapes = [
    [5000, 7],
    [4099, 5],
    [3, 6000],
    [2, 9, 700, 3],
    [11, 4],
  ];
  for (const shape of shapes) {
    it(`${JSON.stringify(shape)} (tile of ${tileRows(shape[shape.length - 1])} rows) matches the strided path to 1e-13`, () => {
      const channels = shape[shape.length - 1];
      const options = batchNorm.resolveOptions({ numFeatures: channels, channelAxis: -1 });
      const init = batchNorm.init(options, 'float64');
      const params = { weight: randn([channels], 3, 'float64', 1, 0.5), bias: randn([channels], 4) };
      const x = randn(shape, 1, 'float64', 2, 3);
      const dy = randn(shape, 2);
      const reversedAxes = shape.map(() => -1);
      // a reversed view of reversed data has the same values but negative strides
      const flip = (t: typeof x) => toContiguous(t.step(...reversedAxes)).step(...reversedAxes);
      for (const mode of ['train', 'eval'] as const) {
        const fast = batchNorm.forward({ x, params, state: init.state, mode }, options);
        const slow = batchNorm.forward({ x: flip(x), params, state: init.state, mode }, options);
        const fastBack = batchNorm.backward({ dy, params, saved: fast.saved }, options);
        const slowBack = batchNorm.backward({ dy: flip(dy), params, saved: slow.saved }, options);
        const pairs: [ArrayLike<number>, ArrayLike<number>][] = [
          [toTypedArray(fast.y), toTypedArray(slow.y)],
          [toTypedArray(fastBack.dx), toTypedArray(slowBack.dx)],
          [toTypedArray(fastBack.grads.weight!), toTypedArray(slowBack.grads.weight!)],
          [toTypedArray(fastBack.grads.bias!), toTypedArray(slowBack.grads.bias!)],
        ];
        for (const [a, b] of pairs) {
          let worst = 0;
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
          expect(worst).toBeLessThan(1e-13);
        }
      }
    });
  }

  it('uses tiles of 64 KiB of float32', () => {
    expect(TILE_ELEMENTS).toBe(16384);
    expect(tileRows(7)).toBe(2340);
    expect(tileRows(20000)).toBe(1);
  });
});
