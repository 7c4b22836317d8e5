import { describe, expect, it } from 'vitest';
import { withChannels } from './example-shapes.js';

describe('withChannels', () => {
  it('moves the channels to the given axis and leaves out ranks without it', () => {
    const bases = [[4, 0], [2, 0, 5], [2, 0, 3, 2]];
    expect(withChannels(bases, 3, 1)).toEqual([[4, 3], [2, 3, 5], [2, 3, 3, 2]]);
    expect(withChannels(bases, 3, -1)).toEqual([[4, 3], [2, 5, 3], [2, 3, 2, 3]]);
    expect(withChannels(bases, 3, 2)).toEqual([[2, 5, 3], [2, 3, 3, 2]]);
    expect(withChannels(bases, 3, -4)).toEqual([[3, 2, 3, 2]]);
  });
});
