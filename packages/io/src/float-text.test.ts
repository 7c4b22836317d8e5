import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { elementValue, float32Text, float64Text } from './float-text.js';

/** The value JSON text stands for, as stateDictFromJSON reads it. */
function read(text: string): number {
  return elementValue(JSON.parse(text)) as number;
}

describe('float64Text', () => {
  it('writes the shortest round-trip decimal, -0, and the non-finite values as strings', () => {
    expect(float64Text(0.1)).toBe('0.1');
    expect(float64Text(1 / 3)).toBe('0.3333333333333333');
    expect(float64Text(5e-324)).toBe('5e-324');
    expect(float64Text(1e21)).toBe('1e+21');
    expect(float64Text(-0)).toBe('-0');
    expect(float64Text(0)).toBe('0');
    expect(float64Text(NaN)).toBe('"NaN"');
    expect(float64Text(Infinity)).toBe('"Infinity"');
    expect(float64Text(-Infinity)).toBe('"-Infinity"');
  });

  it('reads back every float64 bit pattern exactly (seeded, 5000 patterns)', () => {
    const view = new DataView(new ArrayBuffer(8));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (bits) => {
        view.setBigUint64(0, bits);
        const v = view.getFloat64(0);
        return Object.is(read(float64Text(v)), v);
      }),
      { seed: 7, numRuns: 5000 },
    );
  });
});

describe('float32Text', () => {
  it('writes the shortest decimal that rounds to the same float32', () => {
    expect(float32Text(Math.fround(0.1))).toBe('0.1');
    expect(float32Text(Math.fround(1 / 3))).toBe('0.33333334');
    expect(float32Text(16777216)).toBe('16777216');
    expect(float32Text(Math.fround(1e10))).toBe('10000000000');
    expect(float32Text(3.4028234663852886e38)).toBe('3.4028235e+38'); // largest float32
    expect(float32Text(2 ** -149)).toBe('1e-45'); // smallest subnormal
    expect(float32Text(-0)).toBe('-0');
    expect(float32Text(NaN)).toBe('"NaN"');
    expect(float32Text(-Infinity)).toBe('"-Infinity"');
  });

  it('reads back every float32 bit pattern exactly once rounded to float32, with at most 9 significant digits (seeded, 5000 patterns)', () => {
    const view = new DataView(new ArrayBuffer(4));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        view.setUint32(0, bits);
        const v = view.getFloat32(0);
        const text = float32Text(v);
        const back = Math.fround(read(text));
        const digits = text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length; // significant
        return Object.is(back, v) && (!Number.isFinite(v) || digits <= 9);
      }),
      { seed: 8, numRuns: 5000 },
    );
  });
});

describe('elementValue', () => {
  it('takes finite numbers and the three strings, nothing else', () => {
    expect(elementValue(2.5)).toBe(2.5);
    expect(elementValue('NaN')).toBeNaN();
    expect(elementValue('Infinity')).toBe(Infinity);
    expect(elementValue('-Infinity')).toBe(-Infinity);
    for (const bad of ['nan', 'inf', '1', '', null, true, [1], {}, Infinity, NaN]) expect(elementValue(bad), String(bad)).toBeUndefined();
  });
});
