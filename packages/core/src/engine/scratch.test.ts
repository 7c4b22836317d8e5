import { describe, expect, it } from 'vitest';
import { Float64Scratch } from './scratch.js';

describe('Float64Scratch', () => {
  it('returns zero-filled views of the requested length, reusing one buffer per slot', () => {
    const scratch = new Float64Scratch(2);
    const a = scratch.take(0, 5);
    expect(a.length).toBe(5);
    a.fill(7);
    const b = scratch.take(1, 5);
    expect(Array.from(b)).toEqual([0, 0, 0, 0, 0]);
    expect(b.buffer).not.toBe(a.buffer);
    // the same slot again: the same memory, zeroed
    const again = scratch.take(0, 3);
    expect(again.buffer).toBe(a.buffer);
    expect(Array.from(again)).toEqual([0, 0, 0]);
    expect(Array.from(a)).toEqual([0, 0, 0, 7, 7]);
  });

  it('grows a slot when asked for more than it holds', () => {
    const scratch = new Float64Scratch(1);
    const small = scratch.take(0, 4);
    const large = scratch.take(0, 100);
    expect(large.length).toBe(100);
    expect(large.buffer).not.toBe(small.buffer);
    expect(large.every((v) => v === 0)).toBe(true);
  });
});
