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

/**
 * One estimate of the refinement ladder: a central difference (`richardson: false`) or a
 * Richardson extrapolation (`richardson: true`) at the nominal step h/`divisor`.
 */
export interface RefinementStep {
  /** The step is the default step divided by this. */
  readonly divisor: number;
  /** Richardson extrapolation (4·D(s/2) − D(s))/3 at that step s, or a plain central difference. */
  readonly richardson: boolean;
}

/**
 * The estimates tried, in order, when a comparison fails at the default step (the one of
 * them that is the default itself is skipped): Richardson at h, which cancels the h² term;
 * central differences at h/4 and at h/16, whose truncation errors are 16 and 256 times
 * smaller; Richardson at h/4. The default step h = ∛ε·max(1, |x|) assumes the function
 * varies on a scale of about 1; when it varies on a scale σ ≪ 1 (a small-norm slice, a
 * near-constant group), the truncation error C·h² with C ∝ 1/σ³ can exceed the tolerance,
 * and these estimates remove it. Their rounding error, ε·|f|/s, stays ≲ 16·ε^(2/3) ≈ 1e-9
 * relative, far below the 1e-5 tolerance, so a wrong backward, off by 1e-3 or more, agrees
 * with none of them.
 */
export const REFINEMENT_LADDER: readonly RefinementStep[] = [
  { divisor: 1, richardson: true },
  { divisor: 4, richardson: false },
  { divisor: 4, richardson: true },
  { divisor: 16, richardson: false },
];

/**
 * The refined derivative estimates of one path (see {@link REFINEMENT_LADDER}), each
 * computed on first use and memoized, so every comparison that reads the same column (or
 * direction) shares the forward calls. A comparison that passes at the default step costs
 * nothing; one that fails costs at most 8 more forward calls for its whole column.
 */
export class RefinedDerivative {
  private readonly centrals = new Map<number, Float64Array>();
  private readonly estimates: (Float64Array | undefined)[];
  /** The ladder without the default estimate. */
  readonly ladder: readonly RefinementStep[];

  /**
   * @param path - the function along the direction
   * @param h - the default nominal step
   * @param richardson - whether the default estimate is Richardson's (then it is not retried)
   * @param defaultEstimate - the default estimate when it is a plain central difference D(h),
   *   to be reused by Richardson at h (optional: recomputed when absent)
   */
  constructor(
    private readonly path: DifferencePath,
    private readonly h: number,
    richardson: boolean,
    defaultEstimate?: Float64Array,
  ) {
    this.ladder = REFINEMENT_LADDER.filter((s) => !(s.divisor === 1 && s.richardson === richardson));
    this.estimates = this.ladder.map(() => undefined);
    if (!richardson && defaultEstimate !== undefined) this.centrals.set(1, defaultEstimate);
  }

  private central(divisor: number): Float64Array {
    let d = this.centrals.get(divisor);
    if (d === undefined) {
      d = centralDifference(this.path, this.h / divisor);
      this.centrals.set(divisor, d);
    }
    return d;
  }

  /**
   * Estimate k of {@link RefinedDerivative.ladder}, elementwise over the output.
   *
   * @throws whatever the function throws at the refined points
   */
  estimate(k: number): Float64Array {
    let e = this.estimates[k];
    if (e === undefined) {
      const { divisor, richardson } = this.ladder[k];
      if (richardson) {
        const coarse = this.central(divisor);
        const fine = this.central(2 * divisor);
        e = new Float64Array(coarse.length);
        for (let i = 0; i < e.length; i++) e[i] = (4 * fine[i] - coarse[i]) / 3;
      } else {
        e = this.central(divisor);
      }
      this.estimates[k] = e;
    }
    return e;
  }

  /**
   * The refined estimates of one scalar function of the output (an element, or a weighted
   * sum such as rᵀ·column), lazily, in ladder order.
   *
   * @param read - the scalar, from one estimate of the output's derivative
   */
  *values(read: (estimate: Float64Array) => number): Generator<number> {
    for (let k = 0; k < this.ladder.length; k++) yield read(this.estimate(k));
  }
}
