import { unravel } from '@normkit/core';
import { RefinedDerivative, STEP_FACTOR, coordinatePath, directionPath, numericDerivative, relativeStep } from './finite-difference.js';
import { errorMessage } from './jacobian.js';
import type { CompareOptions, SlotOutcome } from './jacobian.js';
import type { DifferentiableMap as Problem } from './differentiable.js';
import { deriveSeed, normalRng, randomValues, sampleIndices, uniformRng } from './random.js';
import { ErrorTracker, scaleOf } from './tolerance.js';

/** What the projection check adds to {@link CompareOptions}. */
export interface ProjectionOptions extends CompareOptions {
  /** How many random projections uᵀJv per slot. */
  readonly projections: number;
  /** How many gradient elements per slot (all of them when the slot is smaller). */
  readonly subsetSize: number;
  /** The seed of the projection directions and of the subset. */
  readonly seed: number;
}

function maxAbs(values: Float64Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * The numeric directional derivative uᵀ·J·v of one slot: the central difference of
 * uᵀ y(s + t·v) in t, computed as uᵀ·(y(s + t·v) − y(s − t·v))/(2t) with
 * t = ∛ε·max(1, max|s|)/max|v| (so no coordinate moves by more than its relative step).
 *
 * @returns the projection, the vector J·v (for the comparison's scale), and the refined
 *   estimates of the projection (Richardson, smaller steps: see {@link RefinedDerivative}),
 *   computed lazily when drawn
 */
export function numericProjection(
  problem: Problem,
  slot: number,
  u: Float64Array,
  v: Float64Array,
  richardson = false,
): {
  /** The numeric projection uᵀ·J·v at the default step. */
  value: number;
  /** The numeric directional derivative J·v, element by element. */
  jv: Float64Array;
  /** Finer estimates of uᵀ·J·v (Richardson, smaller steps), computed only when asked for. */
  refined: () => Iterable<number>;
} {
  const base = problem.slots[slot].values;
  const vMax = maxAbs(v);
  const t = vMax === 0 ? STEP_FACTOR : (STEP_FACTOR * Math.max(1, maxAbs(base))) / vMax;
  const path = directionPath(base, v, (values) => problem.output(slot, values));
  const jv = numericDerivative(path, t, richardson);
  const project = (w: Float64Array): number => {
    let value = 0;
    for (let i = 0; i < u.length; i++) value += u[i] * w[i];
    return value;
  };
  const refined = new RefinedDerivative(path, t, richardson, jv);
  return { value: project(jv), jv, refined: () => refined.values(project) };
}

/**
 * The check for inputs too large for a full Jacobian, for each slot s:
 *
 * 1. the gradient of L = Σ r⊙y at a random subset of `subsetSize` elements of s (every
 *    element of a smaller slot): backward with dy = r against the central difference of L
 *    along that coordinate;
 * 2. `projections` random projections: analytic ⟨backward(dy = u)_s, v⟩ against the
 *    numeric {@link numericProjection}, with u, v ~ N(0, 1). The scale of projection k is
 *    max(1, Σᵢ |uᵢ·(Jv)ᵢ|), the size of the terms the projection sums.
 *
 * As in `checkFullJacobian`, a value out of tolerance at the default step is
 * compared again with refined estimates (Richardson extrapolation, steps h/4 and h/16) of
 * the same coordinate or direction, and fails only when none of them agrees.
 *
 * @param problem - the frozen forward call
 * @param r - the cotangent (loss weights), shaped like y, flat
 * @param options - tolerance, worst entries, Richardson, counts and seed
 */
export function checkProjections(problem: Problem, r: Float64Array, options: ProjectionOptions): SlotOutcome[] {
  const slots = problem.slots;
  const ny = problem.ySize;
  const trackers = slots.map(() => new ErrorTracker(options.tolerance, options.keep));
  const errors: (string | undefined)[] = slots.map(() => undefined);
  const subsets = slots.map((s, k) => sampleIndices(s.values.length, options.subsetSize, uniformRng(deriveSeed(options.seed, 'subset', k))));
  const finish = (): SlotOutcome[] =>
    slots.map((s, k) => ({
      tracker: trackers[k],
      ...(errors[k] === undefined ? {} : { error: errors[k] }),
      summary: `${options.projections} projections uᵀJv and the gradient of Σ r⊙y at ${subsets[k].length} of ${s.values.length} elements`,
    }));

  let gradients: Float64Array[];
  try {
    gradients = problem.vjp(r);
  } catch (e) {
    for (let k = 0; k < slots.length; k++) errors[k] = `backward threw: ${errorMessage(e)}`;
    return finish();
  }

  slots.forEach((s, k) => {
    const values = s.values.slice();
    const f = (v: Float64Array): Float64Array => problem.output(k, v);
    const subset = subsets[k];
    const gNum = new Float64Array(subset.length);
    try {
      subset.forEach((j, m) => {
        const column = numericDerivative(coordinatePath(values, j, f), relativeStep(values[j]), options.richardson);
        let g = 0;
        for (let i = 0; i < ny; i++) g += r[i] * column[i];
        gNum[m] = g;
      });
    } catch (e) {
      errors[k] = `forward threw under a perturbation of ${s.name}: ${errorMessage(e)}`;
      return;
    }
    const scale = scaleOf(gNum);
    const dot = (column: Float64Array): number => {
      let g = 0;
      for (let i = 0; i < ny; i++) g += r[i] * column[i];
      return g;
    };
    try {
      subset.forEach((j, m) => {
        const refine = (): Iterable<number> => new RefinedDerivative(coordinatePath(values, j, f), relativeStep(values[j]), options.richardson).values(dot);
        trackers[k].addRefined(gradients[k][j], gNum[m], scale, refine, 'gradient', () => unravel(j, s.shape));
      });
    } catch (e) {
      errors[k] = `forward threw under a refined perturbation of ${s.name}: ${errorMessage(e)}`;
    }
  });

  const normal = normalRng(deriveSeed(options.seed, 'projections'));
  for (let p = 0; p < options.projections; p++) {
    const u = randomValues(ny, normal);
    const vs = slots.map((s) => randomValues(s.values.length, normal));
    let analytic: Float64Array[];
    try {
      analytic = problem.vjp(u);
    } catch (e) {
      for (let k = 0; k < slots.length; k++) errors[k] ??= `backward threw: ${errorMessage(e)}`;
      return finish();
    }
    slots.forEach((_, k) => {
      if (errors[k] !== undefined) return;
      let a = 0;
      for (let j = 0; j < vs[k].length; j++) a += analytic[k][j] * vs[k][j];
      try {
        const { value, jv, refined } = numericProjection(problem, k, u, vs[k], options.richardson);
        let scale = 0;
        for (let i = 0; i < ny; i++) scale += Math.abs(u[i] * jv[i]);
        trackers[k].addRefined(a, value, Math.max(1, scale), refined, 'projection', () => [p]);
      } catch (e) {
        errors[k] = `forward threw under a perturbation of ${slots[k].name}: ${errorMessage(e)}`;
      }
    });
  }
  return finish();
}
