import { describe, expect, it } from 'vitest';
import { bfloat16BitsToNumber, float16BitsToNumber } from './half.js';

describe('float16BitsToNumber (IEEE 754 binary16)', () => {
  it('decodes the textbook bit patterns exactly', () => {
    expect(float16BitsToNumber(0x3c00)).toBe(1);
    expect(float16BitsToNumber(0xc000)).toBe(-2);
    expect(float16BitsToNumber(0x3555)).toBe(0.333251953125); // 1365 · 2^-12
    expect(float16BitsToNumber(0x7bff)).toBe(65504); // largest finite
    expect(float16BitsToNumber(0xfbff)).toBe(-65504);
    expect(float16BitsToNumber(0x0400)).toBe(2 ** -14); // smallest normal
  });

  it('decodes subnormals as frac · 2^-24 and keeps the sign of zero', () => {
    expect(float16BitsToNumber(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(float16BitsToNumber(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(float16BitsToNumber(0x8001)).toBe(-(2 ** -24));
    expect(Object.is(float16BitsToNumber(0x0000), 0)).toBe(true);
    expect(Object.is(float16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it('decodes exponent 31 as ±Infinity (fraction 0) or NaN', () => {
    expect(float16BitsToNumber(0x7c00)).toBe(Infinity);
    expect(float16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(float16BitsToNumber(0x7e00)).toBeNaN();
    expect(float16BitsToNumber(0x7c01)).toBeNaN();
    expect(float16BitsToNumber(0xffff)).toBeNaN();
  });

  it('agrees with the closed form (-1)^s · 2^(e-15) · (1 + f/1024) on every normal pattern', () => {
    let mismatches = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      const e = (bits >> 10) & 0x1f;
      if (e === 0 || e === 0x1f) continue;
      const f = bits & 0x3ff;
      const expected = (bits & 0x8000 ? -1 : 1) * Math.pow(2, e - 15) * (1 + f / 1024);
      if (float16BitsToNumber(bits) !== expected) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});

describe('bfloat16BitsToNumber', () => {
  it('decodes the upper half of a float32', () => {
    expect(bfloat16BitsToNumber(0x3f80)).toBe(1);
    expect(bfloat16BitsToNumber(0xc000)).toBe(-2);
    expect(bfloat16BitsToNumber(0x4049)).toBe(3.140625); // π truncated to 8 significant bits
    expect(bfloat16BitsToNumber(0x7f7f)).toBe(3.3895313892515355e38); // largest finite: (2 - 2^-7) · 2^127
    expect(bfloat16BitsToNumber(0x0080)).toBe(2 ** -126); // smallest normal
    expect(bfloat16BitsToNumber(0x0001)).toBe(2 ** -133); // smallest subnormal
    expect(Object.is(bfloat16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it('decodes ±Infinity and NaN', () => {
    expect(bfloat16BitsToNumber(0x7f80)).toBe(Infinity);
    expect(bfloat16BitsToNumber(0xff80)).toBe(-Infinity);
    expect(bfloat16BitsToNumber(0x7fc0)).toBeNaN();
    expect(bfloat16BitsToNumber(0xff81)).toBeNaN();
  });
});
