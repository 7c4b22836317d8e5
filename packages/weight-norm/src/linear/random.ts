/**
 * A seeded standard-normal stream: mulberry32 uniforms through Box–Muller.
 * The same seed gives the same numbers on every platform (integer arithmetic and
 * `Math.log`/`Math.cos`/`Math.sqrt` only).
 *
 * @param seed - an unsigned 32-bit integer
 * @returns a function drawing the next N(0, 1) value
 */
export function seededNormal(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}
