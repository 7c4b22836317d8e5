import type { Problem } from './problem.js';

/**
 * What the Jacobian and projection comparisons (`checkFullJacobian`, `checkProjections`)
 * need of the function they check: its differentiable inputs (slots), the size and shape of
 * its output, the output at a perturbed input, and the vector–Jacobian product at the point.
 * A first-order {@link Problem} (forward, differentiated by `backward`) is one, and so is a
 * {@link SecondOrderProblem} (backward, differentiated by `doubleBackward`).
 */
export type DifferentiableMap = Pick<Problem, 'slots' | 'yShape' | 'ySize' | 'output' | 'vjp'>;
