import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from './duplicate-keys.js';
import { compareCodePoints, hasLoneSurrogate } from './unicode.js';

describe('findDuplicateKey', () => {
  it('finds a key repeated in one object, at any depth', () => {
    expect(findDuplicateKey('{"a":1,"a":2}')).toBe('a');
    expect(findDuplicateKey('{"x":{"b":1,"c":{"d":0},"b":2}}')).toBe('b');
    expect(findDuplicateKey('[{"k":1},{"k":2,"k":3}]')).toBe('k');
    expect(findDuplicateKey(' { "a" : 1 , "a" : 2 } ')).toBe('a');
  });

  it('compares keys after unescaping', () => {
    expect(findDuplicateKey('{"a":1,"\\u0061":2}')).toBe('a');
    expect(findDuplicateKey('{"\\"":1,"\\u0022":2}')).toBe('"');
    expect(findDuplicateKey('{"\\ud83d\\ude00":1,"😀":2}')).toBe('😀');
  });

  it('is not fooled by strings that look like keys, or by equal keys in different objects', () => {
    expect(findDuplicateKey('{"a":"a","b":["a","a"],"c":{"a":1}}')).toBeUndefined();
    expect(findDuplicateKey('{"a":{"a":{"a":1}}}')).toBeUndefined();
    expect(findDuplicateKey('{"a\\"b":1,"a":2,"b":3}')).toBeUndefined();
    expect(findDuplicateKey('{"s":"{\\"a\\":1,\\"a\\":2}"}')).toBeUndefined();
    expect(findDuplicateKey('[1,"a","a",{}]')).toBeUndefined();
    expect(findDuplicateKey('{"a\\\\":1,"a":2}')).toBeUndefined();
    expect(findDuplicateKey('{}')).toBeUndefined();
  });
});

describe('unicode helpers', () => {
  it('hasLoneSurrogate finds unpaired surrogates only', () => {
    expect(hasLoneSurrogate('\ud800')).toBe(true);
    expect(hasLoneSurrogate('a\udc00b')).toBe(true);
    expect(hasLoneSurrogate('\ude00\ud83d')).toBe(true); // reversed pair
    expect(hasLoneSurrogate('😀 µ \uffff')).toBe(false);
    expect(hasLoneSurrogate('')).toBe(false);
  });

  it('compareCodePoints orders by code point (the UTF-8 byte order), not by UTF-16 code unit', () => {
    const names = ['😀', '\uffff', 'b', 'a', 'ab', '', 'é', '\ue000'];
    const sorted = [...names].sort(compareCodePoints);
    expect(sorted).toEqual(['', 'a', 'ab', 'b', 'é', '\ue000', '\uffff', '😀']);
    const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
    const byUtf8 = [...names].sort((x, y) => {
      const [p, q] = [bytes(x), bytes(y)];
      for (let i = 0; i < Math.min(p.length, q.length); i++) if (p[i] !== q[i]) return p[i] - q[i];
      return p.length - q.length;
    });
    expect(sorted).toEqual(byUtf8);
    expect(compareCodePoints('a', 'a')).toBe(0);
  });
});
