import { describe, expect, it } from 'vitest';
import { forEachIndex, jointIndex } from '../../test/views.js';
import { fromArray, zeros } from '../tensor.js';
import { indexMap } from './plan.js';
import { walkRuns } from './walk.js';

describe('walkRuns', () => {
  it('visits every element of a strided view exactly once, carrying each operand’s index', () => {
    const base = fromArray(Float64Array.from({ length: 60 }, (_, i) => i), [3, 4, 5], 'float64');
    const views = [base, base.transpose(2, 0, 1), base.step(1, -1, 2), base.lo(1, 1, 1), base.step(-1, -1, -1)];
    for (const view of views) {
      for (const axes of [[0], [1], [2], [0, 2], [], [0, 1, 2]]) {
        const map = indexMap(view.shape, axes);
        // operand 0: the view's buffer index; operand 1: the group index over `axes`
        const seen = new Map<number, number>();
        let runs = 0;
        walkRuns(view.shape, [view.stride, map.strides], [view.offset, 0], (length, pointers, steps) => {
          runs++;
          for (let i = 0; i < length; i++) {
            const p = pointers[0] + i * steps[0];
            expect(seen.has(p)).toBe(false);
            seen.set(p, pointers[1] + i * steps[1]);
          }
        });
        expect(seen.size).toBe(view.size);
        forEachIndex(view.shape, (index) => {
          expect(seen.get(view.index(...index))).toBe(jointIndex(index, view.shape, axes));
        });
        // runs go along one whole axis: there are size / (that axis's size) of them
        expect(view.size % runs).toBe(0);
      }
    }
  });

  it('runs along the axis where operand 0 has its smallest |stride|, and walks its memory in order when it is dense', () => {
    const t = zeros([4, 3, 5], 'float64').transpose(2, 0, 1); // shape [5, 4, 3], strides [1, 15, 5]
    const lengths = new Set<number>();
    const order: number[] = [];
    walkRuns(t.shape, [t.stride], [t.offset], (length, pointers, steps) => {
      lengths.add(length);
      expect(steps[0]).toBe(1);
      for (let i = 0; i < length; i++) order.push(pointers[0] + i * steps[0]);
    });
    expect([...lengths]).toEqual([5]);
    expect(order).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('walks a shape of ones as one run of length 1, and an empty shape not at all', () => {
    const calls: [number, number[], number[]][] = [];
    walkRuns([1, 1], [[7, 3]], [4], (length, pointers, steps) => calls.push([length, pointers.slice(), steps.slice()]));
    expect(calls).toEqual([[1, [4], [0]]]);
    let visited = 0;
    walkRuns([2, 0, 3], [[0, 3, 1]], [0], () => visited++);
    expect(visited).toBe(0);
  });
});
