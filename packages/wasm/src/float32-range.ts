/** The largest finite float32, 2¹²⁸ − 2¹⁰⁴. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** The smallest normal float32, 2⁻¹²⁶: below it a float32 keeps fewer than 24 bits. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/** Below this magnitude a center's float32 split `c = hi + lo` loses `lo` (it would be below 2⁻¹²⁶). */
const SPLIT_CENTER_MIN = 2 ** -102;

/**
 * Whether every value keeps float32 precision when stored as float32: finite and either zero or
 * normal (NaN passes: the TypeScript kernels would give NaN too). The kernels read these
 * constants as float32: the cells kernels' per-cell coefficients (`a`, `b`, `k` of the input
 * gradient, the folded scale and shift), and the rows kernels' `invStd`, γ and β. A coefficient
 * such as `b ∝ 1/σ²` leaves that range when σ is above about 1e19 or `invStd` above about 1e19
 * (tiny data with a tiny `eps`), and the call then goes to the TypeScript kernels, which keep
 * them in float64. The centers are checked by {@link centersSplitFloat32}.
 *
 * @param arrays - the float64 constants (`null` for an absent γ or β)
 * @returns `false` when a value would overflow to ±Infinity or become subnormal (or 0)
 */
export function fitsFloat32(...arrays: readonly (Float64Array | null)[]): boolean {
  for (const values of arrays) {
    if (values === null) continue;
    for (let i = 0; i < values.length; i++) {
      const magnitude = Math.abs(values[i]);
      if (magnitude > FLOAT32_MAX || (magnitude !== 0 && magnitude < FLOAT32_MIN_NORMAL)) return false;
    }
  }
  return true;
}

/**
 * Whether every center survives the kernels' float32 split `c = hi + lo` (`x − c` is computed as
 * `(x − hi) − lo`): zero, or at least 2⁻¹⁰² in magnitude, so that `lo` is a normal float. A
 * smaller nonzero center (subnormal data, whose spread is a few subnormal steps) would lose `lo`
 * and with it the bits `x − c` needs; such calls go to the TypeScript kernels.
 *
 * @param centers - the float64 centers
 * @returns `false` when a nonzero center is below 2⁻¹⁰²
 */
export function centersSplitFloat32(centers: Float64Array): boolean {
  for (let i = 0; i < centers.length; i++) {
    const magnitude = Math.abs(centers[i]);
    if (magnitude !== 0 && magnitude < SPLIT_CENTER_MIN) return false;
  }
  return true;
}
