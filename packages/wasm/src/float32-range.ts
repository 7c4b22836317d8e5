/** The largest finite float32, 2¹²⁸ − 2¹⁰⁴. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** The smallest normal float32, 2⁻¹²⁶: below it a float32 keeps fewer than 24 bits. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Whether every value keeps float32 precision when stored as float32: finite and either zero or
 * normal (NaN passes: the TypeScript kernels would give NaN too). The kernels hold per-cell
 * coefficients (`a`, `b`, `k` of the input gradient, the folded scale) in float32; a coefficient
 * such as `b ∝ 1/σ²` leaves that range when σ is above about 1e19 or `invStd` above about 1e19
 * (tiny data with a tiny `eps`), and the call then goes to the TypeScript kernels, which keep
 * them in float64.
 *
 * @param arrays - the float64 coefficients
 * @returns `false` when a value would overflow to ±Infinity or become subnormal (or 0)
 */
export function fitsFloat32(...arrays: readonly Float64Array[]): boolean {
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) {
      const magnitude = Math.abs(values[i]);
      if (magnitude > FLOAT32_MAX || (magnitude !== 0 && magnitude < FLOAT32_MIN_NORMAL)) return false;
    }
  }
  return true;
}
