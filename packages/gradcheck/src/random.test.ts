import { describe, expect, it } from 'vitest';
import { deriveSeed, normalRng, randomNormalTensor, randomValues, sampleIndices, uniformRng } from './random.js';

describe('random', () => {
  it('uniformRng is seeded, in [0, 1), and differs across seeds', () => {
    const a = randomValues(1000, uniformRng(42));
    expect(randomValues(1000, uniformRng(42))).toEqual(a);
    expect(randomValues(1000, uniformRng(43))).not.toEqual(a);
    expect(a.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('normalRng has mean ≈ 0 and variance ≈ 1', () => {
    const v = randomValues(20000, normalRng(1));
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('deriveSeed separates labels and is stable', () => {
    expect(deriveSeed(0, 'x', 1)).toBe(deriveSeed(0, 'x', 1));
    expect(deriveSeed(0, 'x', 1)).not.toBe(deriveSeed(0, 'x', 2));
    expect(deriveSeed(0, 'x')).not.toBe(deriveSeed(1, 'x'));
    expect(Number.isInteger(deriveSeed(5, 'r')) && deriveSeed(5, 'r') >= 0).toBe(true);
  });

  it('randomNormalTensor makes a float64 row-major tensor of the shape', () => {
    const t = randomNormalTensor([2, 3], 9);
    expect(t.shape).toEqual([2, 3]);
    expect(t.data).toBeInstanceOf(Float64Array);
    expect(randomNormalTensor([2, 3], 9, 'float32').data).toBeInstanceOf(Float32Array);
  });

  it('sampleIndices draws distinct sorted indices, or all of them', () => {
    const rng = uniformRng(3);
    for (let trial = 0; trial < 50; trial++) {
      const s = sampleIndices(100, 10, rng);
      expect(s).toHaveLength(10);
      expect(new Set(s).size).toBe(10);
      expect(s.every((i) => i >= 0 && i < 100)).toBe(true);
      expect([...s].sort((a, b) => a - b)).toEqual(s);
    }
    expect(sampleIndices(4, 10, rng)).toEqual([0, 1, 2, 3]);
  });
});
