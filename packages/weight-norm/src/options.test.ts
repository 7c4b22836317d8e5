import { describe, expect, it } from 'vitest';
import { gShapeOf, normAxesOf, resolveWeightNormOptions, sliceCountOf } from './options.js';
import type { WeightNormInputOptions } from './options.js';
import { weightNorm } from './plugin.js';

describe('options', () => {
  it('defaults: dim 0, no eps, gInit norm; negative dim counts from the end', () => {
    expect(resolveWeightNormOptions({ shape: [5, 4] })).toEqual({ shape: [5, 4], dim: 0, eps: null, gInit: 'norm' });
    expect(resolveWeightNormOptions({ shape: [4, 3, 3, 3], dim: -3 }).dim).toBe(1);
    expect(resolveWeightNormOptions({ shape: [5, 4], dim: -1 }).dim).toBe(1); // the last axis, not the whole tensor
    expect(resolveWeightNormOptions({ shape: [5, 4], dim: null }).dim).toBeNull();
    expect(resolveWeightNormOptions({ shape: 7 }).shape).toEqual([7]);
  });

  it('resolving resolved options is the identity, and create binds the resolved options', () => {
    const once = resolveWeightNormOptions({ shape: [2, 3], dim: -1, eps: 1e-6, gInit: 'one' });
    expect(resolveWeightNormOptions(once)).toEqual(once);
    expect(weightNorm.create({ shape: [2, 3], dim: -1, eps: 1e-6, gInit: 'one' }).options).toEqual(once);
  });

  it('g has PyTorch shapes; the norm runs over every other axis', () => {
    expect(gShapeOf({ shape: [4, 3, 3, 3], dim: 0 })).toEqual([4, 1, 1, 1]);
    expect(gShapeOf({ shape: [5, 4], dim: 1 })).toEqual([1, 4]);
    expect(gShapeOf({ shape: [5, 4], dim: null })).toEqual([]);
    expect(weightNorm.create({ shape: [4, 3, 3, 3], dim: 1 }).paramShapes()).toEqual({ g: [1, 3, 1, 1] });
    expect(normAxesOf({ shape: [4, 3, 3, 3], dim: 1 })).toEqual([0, 2, 3]);
    expect(normAxesOf({ shape: [5, 4], dim: null })).toEqual([0, 1]);
    expect(sliceCountOf({ shape: [4, 3, 3, 3], dim: 1 })).toBe(3);
    expect(sliceCountOf({ shape: [4, 3, 3, 3], dim: null })).toBe(1);
  });

  it.each([
    ['dim out of range', { shape: [5, 4], dim: 2 }],
    ['dim below −rank', { shape: [5, 4], dim: -3 }],
    ['dim not an integer', { shape: [5, 4], dim: 0.5 }],
    ['dim a string', { shape: [5, 4], dim: '0' }],
    ['no shape', {}],
    ['shape with a zero', { shape: [5, 0] }],
    ['eps 0', { shape: [5, 4], eps: 0 }],
    ['eps negative', { shape: [5, 4], eps: -1e-5 }],
    ['gInit unknown', { shape: [5, 4], gInit: 'two' }],
    ['unknown key', { shape: [5, 4], dims: 0 }],
  ])('%s → E_OPTION (resolveOptions and create)', (_, input) => {
    expect(() => weightNorm.resolveOptions(input as unknown as WeightNormInputOptions)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => weightNorm.create(input as unknown as WeightNormInputOptions)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
});
