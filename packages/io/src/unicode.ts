const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Does `text` hold a lone UTF-16 surrogate (a code unit in U+D800–U+DFFF without its pair)?
 * Such a string has no UTF-8 encoding, so safetensors (whose header is UTF-8 text read by
 * Rust) cannot hold it, even as a `\ud800` escape.
 *
 * @param text - a string
 * @returns whether it is not well-formed Unicode
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * Compares two strings by Unicode code point, which is the order of their UTF-8 bytes (the
 * order Rust sorts `String`s in). JavaScript's `<` compares UTF-16 code units, which differs
 * when a character beyond U+FFFF meets one in U+E000–U+FFFF.
 *
 * @param a - a string
 * @param b - another string
 * @returns negative when `a` sorts first, positive when `b` does, 0 when equal
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Move surrogates (D800–DFFF) above E000–FFFF: code units then sort as code points.
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca += ca >= 0xe000 ? -0x800 : 0x2000;
      cb += cb >= 0xe000 ? -0x800 : 0x2000;
    }
    return ca - cb;
  }
  return a.length - b.length;
}
