/**
 * `@normkit/gradcheck`: finite-difference gradient checking for any normkit plugin.
 *
 * - {@link checkGradients}: compares a plugin's `backward` with central differences of its
 *   `forward` (full Jacobians at small sizes, random projections at large ones) and checks
 *   its contract (purity, determinism, linearity in dy, shapes and dtypes, invariants), then
 *   the same point in float32, in other memory layouts and with preallocated outputs, in the
 *   dtype mixes and modes the plugin accepts, and its next state against its declaration.
 * - {@link formatReport}: the report as a table a person reads at a glance.
 * - {@link assertGradients}: the one-line test helper; throws with the table.
 * - {@link checkSecondOrder} / {@link assertSecondOrder}: the order-2 check, a plugin's
 *   optional `doubleBackward` against finite differences of its own `backward`.
 *
 * @packageDocumentation
 */
export { checkGradients, checkId, optionsLabel } from './check.js';
export type { GradcheckConfig, GradcheckSize } from './check.js';
export {
  DEFAULT_FULL_JACOBIAN_MAX_SIZE,
  DEFAULT_LARGE_PROJECTIONS,
  DEFAULT_LARGE_SUBSET_SIZE,
  DEFAULT_PROJECTIONS,
  DEFAULT_SUBSET_SIZE,
  DEFAULT_WORST,
  PARAM_NOISE,
} from './check.js';
export { assertGradients } from './assert.js';
export { describeVariant, formatReport, formatNumber } from './report.js';
export { assertSecondOrder, checkSecondOrder } from './second-order.js';
export { SecondOrderProblem } from './second-order-problem.js';
export type { DoubleBackwardOutcome } from './second-order-problem.js';
export type { DifferentiableMap } from './differentiable.js';
export type {
  CaseLabel,
  CaseSize,
  CheckVariant,
  CheckStatus,
  ContractCheck,
  ContractName,
  GradcheckReport,
  ReportSettings,
  TensorCheck,
  WorstEntry,
  WorstSource,
} from './report.js';
export { DEFAULT_ATOL, DEFAULT_RTOL, ErrorTracker, relativeError, scaleOf } from './tolerance.js';
export type { Tolerance } from './tolerance.js';
export {
  FLOAT64_EPSILON,
  REFINEMENT_LADDER,
  RefinedDerivative,
  STEP_FACTOR,
  centralDifference,
  coordinatePath,
  directionPath,
  numericDerivative,
  relativeStep,
  richardsonDifference,
} from './finite-difference.js';
export type { DifferencePath, RefinementStep } from './finite-difference.js';
export { Problem } from './problem.js';
export type { AnyBound, AnyNormalizer, AnyTypes, Slot, TensorRecord } from './problem.js';
export { analyticJacobians, checkFullJacobian, numericJacobian } from './jacobian.js';
export type { CompareOptions, SlotOutcome } from './jacobian.js';
export { checkProjections, numericProjection } from './projection.js';
export type { ProjectionOptions } from './projection.js';
export { INVARIANT_ATOL, INVARIANT_RTOL, LINEARITY_ALPHAS, LINEARITY_ATOL, LINEARITY_RTOL } from './contract-checks.js';
export { FLOAT32_ATOL, FLOAT32_RTOL } from './float32-check.js';
export { LAYOUT_ATOL, LAYOUT_RTOL } from './layout-checks.js';
export { INPUT_LAYOUTS, LAYOUT_PADDING, PADDING_VALUE, viewInLayout } from './views.js';
export type { InputLayout } from './views.js';
export { STATE_ATOL, STATE_RTOL, declaredNextState, describeStateUpdate } from './state-update.js';
export { deriveSeed, normalRng, randomNormalTensor, randomValues, sampleIndices, uniformRng } from './random.js';
export type { Rng } from './random.js';
