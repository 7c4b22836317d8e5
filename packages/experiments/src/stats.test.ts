import { describe, expect, it } from 'vitest';
import { interval, overlaps, tQuantile975 } from './stats.js';

describe('Student t quantiles t(0.975; df)', () => {
  it('df = 1 and 2 match their closed forms (1e-4)', () => {
    // df = 1 is the Cauchy distribution: t = tan(π(p − ½)); df = 2: t = (2p − 1)/√(2p(1 − p)).
    expect(Math.abs(tQuantile975(1) - Math.tan(Math.PI * 0.475))).toBeLessThan(1e-4);
    expect(Math.abs(tQuantile975(2) - 0.95 / Math.sqrt(2 * 0.975 * 0.025))).toBeLessThan(1e-4);
  });

  it('beyond the table the expansion joins it and tends to the normal quantile', () => {
    expect(Math.abs(tQuantile975(31) - 2.03951)).toBeLessThan(1e-4);
    expect(Math.abs(tQuantile975(120) - 1.97993)).toBeLessThan(1e-4);
    expect(Math.abs(tQuantile975(1e6) - 1.959964)).toBeLessThan(1e-5);
  });

  it('rejects a df that is not a positive integer', () => {
    expect(() => tQuantile975(0)).toThrow(/df/);
    expect(() => tQuantile975(2.5)).toThrow(/df/);
  });
});

describe('interval', () => {
  it('mean ± t·s/√n for 5 values (closed form)', () => {
    const i = interval([1, 2, 3, 4, 5]);
    expect(i.mean).toBe(3);
    expect(i.sd).toBeCloseTo(Math.sqrt(2.5), 14);
    expect(i.half).toBeCloseTo((2.77645 * Math.sqrt(2.5)) / Math.sqrt(5), 10);
  });

  it('one value: no interval; non-finite values are refused', () => {
    expect(interval([0.7]).half).toBeNull();
    expect(() => interval([1, Number.NaN])).toThrow(/finite/);
  });

  it('overlaps', () => {
    expect(overlaps(interval([1, 1.1, 0.9]), interval([1.05, 1.15, 1.1]))).toBe(true);
    expect(overlaps(interval([1, 1.01, 0.99]), interval([2, 2.01, 1.99]))).toBe(false);
  });
});
