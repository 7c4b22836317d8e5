import { describe, expect, it } from 'vitest';
import { blockedLayout, complementAxes, forEachRun } from './layout.js';
import { fromArray, zeros } from './tensor.js';

describe('layout', () => {
  it('splits contiguous tensors into (outer, groups, inner) blocks', () => {
    const x = zeros([2, 3, 4, 5]);
    expect(blockedLayout(x, [1])).toEqual({ outer: 2, groups: 3, inner: 20, offset: 0 });
    expect(blockedLayout(x, [3])).toEqual({ outer: 24, groups: 5, inner: 1, offset: 0 });
    expect(blockedLayout(x, [0, 1])).toEqual({ outer: 1, groups: 6, inner: 20, offset: 0 });
    expect(blockedLayout(x, [])).toEqual({ outer: 1, groups: 1, inner: 120, offset: 0 });
    expect(blockedLayout(x, [0, 2])).toBeNull();
    expect(blockedLayout(x.transpose(0, 2, 1, 3), [1])).toBeNull();
  });

  it('visits every element of a strided view exactly once, with its group index', () => {
    const base = fromArray(Float64Array.from({ length: 60 }, (_, i) => i), [3, 4, 5]);
    for (const view of [base, base.transpose(2, 0, 1), base.step(1, -1, 2), base.lo(1, 1, 1)]) {
      for (const axes of [[0], [1], [2], [0, 2], []]) {
        const seen = new Map<number, number>();
        forEachRun(view.shape, [view.stride], [view.offset], axes, (length, group, groupStep, pointers, steps) => {
          for (let i = 0; i < length; i++) seen.set(pointers[0] + i * steps[0], group + i * groupStep);
        });
        expect(seen.size).toBe(view.size);
        // check group index against the multi-index
        const groupStrides = axes.map((_, j) => axes.slice(j + 1).reduce((p, a) => p * view.shape[a], 1));
        const index = new Array<number>(view.shape.length).fill(0);
        for (let n = 0; n < view.size; n++) {
          const p = view.index(...index);
          const expectedGroup = axes.reduce((g, a, j) => g + index[a] * groupStrides[j], 0);
          expect(seen.get(p)).toBe(expectedGroup);
          for (let k = index.length - 1; k >= 0; k--) {
            if (++index[k] < view.shape[k]) break;
            index[k] = 0;
          }
        }
      }
    }
  });

  it('lists the complement of kept axes', () => {
    expect(complementAxes(4, [1])).toEqual([0, 2, 3]);
    expect(complementAxes(2, [])).toEqual([0, 1]);
  });
});
