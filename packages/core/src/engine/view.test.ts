import { describe, expect, it } from 'vitest';
import { forEachIndex } from '../../test/views.js';
import { fromArray } from '../tensor.js';
import { splitAxis, viewOf } from './view.js';

describe('viewOf', () => {
  it('unpacks a tensor into its buffer, shape, strides and offset without copying', () => {
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float64').transpose(1, 0).lo(1, 0);
    const view = viewOf(t);
    expect(view.data).toBe(t.data);
    expect(view.shape).toEqual([2, 2]);
    expect(view.strides).toEqual([1, 3]);
    expect(view.offset).toBe(1);
  });
});

describe('splitAxis', () => {
  it('splits an axis into several over the same memory, for any strides (group norm reads (N, C, L) as (N, G, C/G, L))', () => {
    const values = Float64Array.from({ length: 2 * 6 * 3 }, (_, i) => i);
    const base = fromArray(values, [2, 6, 3], 'float64');
    for (const t of [base, base.step(1, -1, 1), base.transpose(2, 1, 0).transpose(2, 1, 0), fromArray(values, [3, 6, 2], 'float64').transpose(2, 1, 0)]) {
      const view = viewOf(t);
      const split = splitAxis(view, 1, [2, 3]);
      expect(split.shape).toEqual([2, 2, 3, 3]);
      expect(split.data).toBe(view.data);
      expect(split.offset).toBe(view.offset);
      forEachIndex(split.shape, (index) => {
        const [n, g, c, l] = index;
        const p = split.offset + n * split.strides[0] + g * split.strides[1] + c * split.strides[2] + l * split.strides[3];
        expect(split.data[p]).toBe(t.get(n, g * 3 + c, l));
      });
    }
  });

  it('refuses sizes that do not multiply to the axis size (a programming error, a plain Error)', () => {
    expect(() => splitAxis(viewOf(fromArray([1, 2, 3, 4, 5, 6], [6], 'float64')), 0, [4, 2])).toThrow('splitAxis: sizes [4, 2] do not multiply to axis 0 of size 6');
  });
});
