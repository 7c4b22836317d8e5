/** Machine epsilon of float64: 2⁻⁵² ≈ 2.22e-16. */
export const FLOAT64_EPSILON = 2 ** -52;

/**
 * The relative step factor ∛ε ≈ 6.06e-6. A central difference has truncation error
 * ≈ C·h² and rounding error ≈ ε·|f|/h; their sum is smallest near h ≈ ∛ε (for |x| ≲ 1).
 */
export const STEP_FACTOR = Math.cbrt(FLOAT64_EPSILON);

/**
 * The finite-difference step for a coordinate of value `value`:
 * h = ∛ε · max(1, |value|), so the step stays relative for large values and does not
 * vanish near zero.
 *
 * @param value - the coordinate being perturbed
 * @param factor - the relative step (default {@link STEP_FACTOR})
 */
export function relativeStep(value: number, factor: number = STEP_FACTOR): number {
  return factor * Math.max(1, Math.abs(value));
}

/**
 * A one-parameter path through a function's input, t ↦ f(x + t·d), seen through its
 * (vector) output. `displacement(t)` is the distance actually travelled along d: for a
 * single coordinate it is the exactly representable (x + t) − x, not t, which removes the
 * rounding of the step from the denominator.
 */
export interface DifferencePath {
  /** The output at x + t·d, as a flat array (a fresh array or one the caller may keep). */
  evaluate(t: number): Float64Array;
  /** The displacement actually applied for the nominal step t. */
  displacement(t: number): number;
}

/**
 * The central difference of a path with step h, elementwise over the output:
 * D(h) = (f(x + h·d) − f(x − h·d)) / (Δ(+h) − Δ(−h)), with Δ the realized displacement.
 * Its error is O(h²) (against O(h) for a one-sided difference).
 *
 * @param path - the function along the direction
 * @param h - the nominal step (> 0)
 */
export function centralDifference(path: DifferencePath, h: number): Float64Array {
  const plus = path.evaluate(h).slice();
  const minus = path.evaluate(-h);
  const denominator = path.displacement(h) - path.displacement(-h);
  const out = new Float64Array(plus.length);
  for (let i = 0; i < plus.length; i++) out[i] = (plus[i] - minus[i]) / denominator;
  return out;
}

/**
 * One Richardson extrapolation step on central differences:
 * R(h) = (4·D(h/2) − D(h)) / 3, which cancels the h² term of the error and leaves O(h⁴),
 * at twice the cost (four evaluations).
 *
 * @param path - the function along the direction
 * @param h - the nominal step of the coarse difference (> 0)
 */
export function richardsonDifference(path: DifferencePath, h: number): Float64Array {
  const coarse = centralDifference(path, h);
  const fine = centralDifference(path, h / 2);
  const out = new Float64Array(coarse.length);
  for (let i = 0; i < coarse.length; i++) out[i] = (4 * fine[i] - coarse[i]) / 3;
  return out;
}

/**
 * The numeric derivative of a path: {@link richardsonDifference} when `richardson`,
 * otherwise {@link centralDifference}.
 */
export function numericDerivative(path: DifferencePath, h: number, richardson: boolean): Float64Array {
  return richardson ? richardsonDifference(path, h) : centralDifference(path, h);
}

/**
 * The path that moves coordinate `k` of `values` (in place, restored after each
 * evaluation) and evaluates `f` on the whole array.
 *
 * @param values - the point; element k is perturbed and restored, nothing else is touched
 * @param k - the coordinate
 * @param f - the function of the whole array
 */
export function coordinatePath(values: Float64Array, k: number, f: (values: Float64Array) => Float64Array): DifferencePath {
  const base = values[k];
  return {
    evaluate(t) {
      values[k] = base + t;
      try {
        return f(values);
      } finally {
        values[k] = base;
      }
    },
    displacement: (t) => base + t - base,
  };
}

/**
 * The path x + t·v through `base` along `direction`, evaluating `f` on a scratch array.
 *
 * @param base - the point (not modified)
 * @param direction - the direction v, of the same length
 * @param f - the function of the whole array
 */
export function directionPath(
  base: Float64Array,
  direction: Float64Array,
  f: (values: Float64Array) => Float64Array,
): DifferencePath {
  const scratch = new Float64Array(base.length);
  return {
    evaluate(t) {
      for (let i = 0; i < base.length; i++) scratch[i] = base[i] + t * direction[i];
      return f(scratch);
    },
    displacement: (t) => t,
  };
}
