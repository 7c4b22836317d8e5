import { unravel } from '@normkit/core';
import { RefinedDerivative, coordinatePath, numericDerivative, relativeStep } from './finite-difference.js';
import type { DifferentiableMap as Problem } from './differentiable.js';
import { ErrorTracker, scaleOf } from './tolerance.js';
import type { Tolerance } from './tolerance.js';

/** What the comparison of one slot (x or a parameter) came to. */
export interface SlotOutcome {
  /** The accumulated comparisons. */
  readonly tracker: ErrorTracker;
  /** Set when the plugin threw while this slot was being checked. */
  readonly error?: string;
  /** One line saying what was compared. */
  readonly summary: string;
}

/** How a Jacobian or projection check runs. */
export interface CompareOptions {
  /** rtol and atol. */
  readonly tolerance: Tolerance;
  /** How many worst entries to keep. */
  readonly keep: number;
  /** Richardson extrapolation of the central differences. */
  readonly richardson: boolean;
}

/** The message of anything thrown; for an error other than a NormkitError (a bug in the plugin), with its first stack frame, `(at backward (file:///…/my-norm.js:12:5))`. */
export function errorMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const text = `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`;
  // A NormkitError is a refusal the plugin meant; anything else is a bug in it: say where it happened.
  if (e.name === 'NormkitError') return text;
  // The frames follow the message in e.stack (which may itself hold lines starting "at "); the
  // first one in a file of the user's, not in Node's internals or a builtin (`<anonymous>`).
  const stack = e.stack ?? '';
  const header = `${e.name}: ${e.message}`;
  const frames = (stack.startsWith(header) ? stack.slice(header.length) : stack)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '));
  const frame = frames.find((line) => !line.includes('(node:') && !line.startsWith('at node:') && !line.includes('<anonymous>')) ?? frames[0];
  return frame === undefined ? text : `${text} (${frame})`;
}

/**
 * The numeric Jacobian ∂y/∂s of one slot s, row-major with `ySize` rows and `size(s)`
 * columns: column j is the central difference of y along coordinate j, with the relative
 * step h = ∛ε·max(1, |sⱼ|) (two forward calls per column, four with Richardson).
 *
 * @param problem - the frozen forward call
 * @param slot - 0 for x, then the parameters in order
 * @param richardson - extrapolate (4·D(h/2) − D(h))/3
 */
export function numericJacobian(problem: Problem, slot: number, richardson = false): Float64Array {
  const values = problem.slots[slot].values.slice();
  const cols = values.length;
  const rows = problem.ySize;
  const jacobian = new Float64Array(rows * cols);
  const f = (v: Float64Array): Float64Array => problem.output(slot, v);
  for (let j = 0; j < cols; j++) {
    const column = numericDerivative(coordinatePath(values, j, f), relativeStep(values[j]), richardson);
    for (let i = 0; i < rows; i++) jacobian[i * cols + j] = column[i];
  }
  return jacobian;
}

/**
 * The analytic Jacobian of every slot, from one backward call per output element with a
 * one-hot dy (row i of ∂y/∂s is the gradient for dy = eᵢ). Row-major, `ySize` rows each.
 *
 * @param problem - the frozen forward call
 */
export function analyticJacobians(problem: Problem): Float64Array[] {
  const rows = problem.ySize;
  const out = problem.slots.map((s) => new Float64Array(rows * s.values.length));
  const dy = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    dy[i] = 1;
    const grads = problem.vjp(dy);
    dy[i] = 0;
    grads.forEach((g, k) => out[k].set(g, i * g.length));
  }
  return out;
}

/**
 * The refined estimates of the columns of one slot's numeric Jacobian, created on first use
 * (see {@link RefinedDerivative}): what a failing Jacobian entry or gradient element of
 * column j is compared with again.
 */
class ColumnRefiner {
  private readonly values: Float64Array;
  private readonly columns = new Map<number, RefinedDerivative>();

  constructor(
    private readonly problem: Problem,
    private readonly slot: number,
    private readonly jacobian: Float64Array,
    private readonly richardson: boolean,
  ) {
    this.values = problem.slots[slot].values.slice();
  }

  column(j: number): RefinedDerivative {
    let refined = this.columns.get(j);
    if (refined === undefined) {
      const cols = this.values.length;
      const rows = this.problem.ySize;
      const current = new Float64Array(rows);
      for (let i = 0; i < rows; i++) current[i] = this.jacobian[i * cols + j];
      const path = coordinatePath(this.values, j, (v) => this.problem.output(this.slot, v));
      refined = new RefinedDerivative(path, relativeStep(this.values[j]), this.richardson, current);
      this.columns.set(j, refined);
    }
    return refined;
  }
}

/**
 * The full check, for small sizes: for each slot s,
 *
 * 1. the gradient of the loss L = Σ r⊙y: backward with dy = r against rᵀ·J_num, i.e. the
 *    central difference of L (computed from the per-element differences of y, which keeps
 *    the rounding of the large sum Σ r⊙y out of the numerator);
 * 2. every Jacobian entry: analytic rows (one-hot backward) against numeric columns.
 *
 * Scales: max(1, max |numeric|) over the gradient and over the Jacobian, separately.
 *
 * A value out of tolerance at the default step is compared again with the refined
 * estimates of its column (Richardson extrapolation, steps h/4 and h/16: see
 * {@link RefinedDerivative}); it fails only when none of them agrees, so a failure must
 * persist under refinement to be reported. Refinement costs nothing when everything passes.
 *
 * @param problem - the frozen forward call
 * @param r - the cotangent (loss weights), shaped like y, flat
 * @param options - tolerance, number of worst entries, Richardson
 */
export function checkFullJacobian(problem: Problem, r: Float64Array, options: CompareOptions): SlotOutcome[] {
  const slots = problem.slots;
  const ny = problem.ySize;
  const trackers = slots.map(() => new ErrorTracker(options.tolerance, options.keep));
  const errors: (string | undefined)[] = slots.map(() => undefined);
  const numeric = slots.map((_, k) => {
    try {
      return numericJacobian(problem, k, options.richardson);
    } catch (e) {
      errors[k] = `forward threw under a perturbation of ${slots[k].name}: ${errorMessage(e)}`;
      return null;
    }
  });
  const refiners = numeric.map((jac, k) => (jac === null ? null : new ColumnRefiner(problem, k, jac, options.richardson)));
  const refinementError = (k: number, e: unknown): void => {
    errors[k] ??= `forward threw under a refined perturbation of ${slots[k].name}: ${errorMessage(e)}`;
  };
  const finish = (): SlotOutcome[] =>
    slots.map((s, k) => ({
      tracker: trackers[k],
      ...(errors[k] === undefined ? {} : { error: errors[k] }),
      summary: `full Jacobian ${ny}×${s.values.length} and the ${s.values.length}-element gradient of Σ r⊙y`,
    }));

  let gradients: Float64Array[];
  try {
    gradients = problem.vjp(r);
  } catch (e) {
    for (let k = 0; k < slots.length; k++) errors[k] ??= `backward threw: ${errorMessage(e)}`;
    return finish();
  }
  const dot = (column: Float64Array): number => {
    let g = 0;
    for (let i = 0; i < ny; i++) g += r[i] * column[i];
    return g;
  };
  slots.forEach((s, k) => {
    const jac = numeric[k];
    const refiner = refiners[k];
    if (jac === null || refiner === null) return;
    const n = s.values.length;
    const gNum = new Float64Array(n);
    for (let i = 0; i < ny; i++) {
      const ri = r[i];
      for (let j = 0; j < n; j++) gNum[j] += ri * jac[i * n + j];
    }
    const scale = scaleOf(gNum);
    try {
      for (let j = 0; j < n; j++) {
        trackers[k].addRefined(gradients[k][j], gNum[j], scale, () => refiner.column(j).values(dot), 'gradient', () => unravel(j, s.shape));
      }
    } catch (e) {
      refinementError(k, e);
    }
  });

  const scales = numeric.map((jac) => (jac === null ? 1 : scaleOf(jac)));
  const dy = new Float64Array(ny);
  for (let i = 0; i < ny; i++) {
    dy[i] = 1;
    let rows: Float64Array[];
    try {
      rows = problem.vjp(dy);
    } catch (e) {
      for (let k = 0; k < slots.length; k++) errors[k] ??= `backward threw for a one-hot dy at y[${unravel(i, problem.yShape).join(', ')}]: ${errorMessage(e)}`;
      return finish();
    }
    dy[i] = 0;
    const entry = (estimate: Float64Array): number => estimate[i];
    slots.forEach((s, k) => {
      const jac = numeric[k];
      const refiner = refiners[k];
      if (jac === null || refiner === null || errors[k] !== undefined) return;
      const n = s.values.length;
      const row = rows[k];
      const tracker = trackers[k];
      const base = i * n;
      try {
        for (let j = 0; j < n; j++) {
          tracker.addRefined(
            row[j],
            jac[base + j],
            scales[k],
            () => refiner.column(j).values(entry),
            'jacobian',
            () => unravel(j, s.shape),
            () => unravel(i, problem.yShape),
          );
        }
      } catch (e) {
        refinementError(k, e);
      }
    });
  }
  return finish();
}
