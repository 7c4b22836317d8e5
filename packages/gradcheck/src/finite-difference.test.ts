import { describe, expect, it } from 'vitest';
import {
  FLOAT64_EPSILON,
  STEP_FACTOR,
  centralDifference,
  coordinatePath,
  directionPath,
  richardsonDifference,
  relativeStep,
} from './finite-difference.js';
import type { DifferencePath } from './finite-difference.js';

function scalarPath(f: (x: number) => number, x: number): DifferencePath {
  return { evaluate: (t) => Float64Array.of(f(x + t)), displacement: (t) => x + t - x };
}

describe('finite differences', () => {
  it('uses the relative step ∛ε·max(1, |x|)', () => {
    expect(STEP_FACTOR).toBeCloseTo(Math.cbrt(FLOAT64_EPSILON), 20);
    expect(relativeStep(0.25)).toBe(STEP_FACTOR);
    expect(relativeStep(-1000)).toBeCloseTo(1000 * STEP_FACTOR, 15);
  });

  it('central differences are accurate to about ε^(2/3)', () => {
    for (const x of [-2, 0.3, 1.7]) {
      const d = centralDifference(scalarPath(Math.sin, x), relativeStep(x))[0];
      expect(Math.abs(d - Math.cos(x))).toBeLessThan(1e-9);
    }
  });

  it('keeps a relative accuracy for large arguments', () => {
    const x = 1e6;
    const d = centralDifference(scalarPath((v) => v * v, x), relativeStep(x))[0];
    expect(Math.abs(d - 2 * x) / (2 * x)).toBeLessThan(1e-9);
  });

  it('Richardson extrapolation beats a plain central difference when the third derivative is large', () => {
    const f = (v: number): number => Math.exp(40 * v);
    const x = 0.1;
    const exact = 40 * Math.exp(4);
    const h = 1e-3;
    const plain = Math.abs(centralDifference(scalarPath(f, x), h)[0] - exact);
    const extrapolated = Math.abs(richardsonDifference(scalarPath(f, x), h)[0] - exact);
    expect(extrapolated).toBeLessThan(plain / 100);
  });

  it('a coordinate path restores the coordinate and differentiates a vector function', () => {
    const values = Float64Array.of(1, 2, 3);
    const f = (v: Float64Array): Float64Array => Float64Array.of(v[0] * v[1], v[1] * v[2]);
    const column = centralDifference(coordinatePath(values, 1, f), relativeStep(2));
    expect(values).toEqual(Float64Array.of(1, 2, 3));
    expect(column[0]).toBeCloseTo(1, 9);
    expect(column[1]).toBeCloseTo(3, 9);
  });

  it('a direction path gives the directional derivative J·v', () => {
    const base = Float64Array.of(1, 2);
    const v = Float64Array.of(0.5, -1);
    const f = (x: Float64Array): Float64Array => Float64Array.of(x[0] * x[0], x[0] * x[1]);
    const jv = centralDifference(directionPath(base, v, f), 1e-5);
    expect(jv[0]).toBeCloseTo(2 * 1 * 0.5, 9);
    expect(jv[1]).toBeCloseTo(2 * 0.5 + 1 * -1, 9);
    expect(base).toEqual(Float64Array.of(1, 2));
  });
});
