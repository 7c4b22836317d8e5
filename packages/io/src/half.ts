/** 2^(e − 25) for the biased float16 exponents e = 0 … 31, built by exact doubling. */
const FLOAT16_SCALE: Float64Array = (() => {
  const scale = new Float64Array(32);
  let p = 2 ** -24; // a power of two: exact as a literal
  for (let e = 1; e < 32; e++, p *= 2) scale[e] = p;
  scale[0] = 2 ** -24; // subnormals: frac · 2^-24
  return scale;
})();

/**
 * The value of an IEEE 754 binary16 (float16, safetensors `F16`) bit pattern.
 *
 * Normal numbers are (1024 + frac) · 2^(exp − 25), subnormals frac · 2^-24, exponent 31 is
 * ±Infinity (frac 0) or NaN. Every float16 value is exact in float32 and float64.
 *
 * @param bits - the 16-bit pattern, 0 … 0xffff
 * @returns its value (−0 for 0x8000)
 * @example
 * ```ts
 * float16BitsToNumber(0x3c00); // 1
 * float16BitsToNumber(0x7bff); // 65504, the largest float16
 * ```
 */
export function float16BitsToNumber(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const negative = (bits & 0x8000) !== 0;
  let magnitude: number;
  if (exponent === 0x1f) {
    if (fraction !== 0) return NaN;
    magnitude = Infinity;
  } else if (exponent === 0) {
    magnitude = fraction * FLOAT16_SCALE[0];
  } else {
    magnitude = (1024 + fraction) * FLOAT16_SCALE[exponent];
  }
  return negative ? -magnitude : magnitude;
}

const BFLOAT16_WORD = new DataView(new ArrayBuffer(4));

/**
 * The value of a bfloat16 (safetensors `BF16`) bit pattern: the upper half of a float32,
 * so its value is the float32 with these 16 bits on top and 16 zero bits below.
 *
 * @param bits - the 16-bit pattern, 0 … 0xffff
 * @returns its value, exact in float32 (−0 for 0x8000)
 * @example
 * ```ts
 * bfloat16BitsToNumber(0x3f80); // 1
 * bfloat16BitsToNumber(0xc000); // -2
 * ```
 */
export function bfloat16BitsToNumber(bits: number): number {
  BFLOAT16_WORD.setUint32(0, (bits & 0xffff) << 16 >>> 0);
  return BFLOAT16_WORD.getFloat32(0);
}
