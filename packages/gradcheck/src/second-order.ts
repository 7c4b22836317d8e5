import { NormkitError, assertNormalizer, sizeOf, tensor, toContiguous } from '@normkit/core';
import type { Normalizer, NormalizerTypes, Shape, Tensor } from '@normkit/core';
import {
  DEFAULT_FULL_JACOBIAN_MAX_SIZE,
  DEFAULT_PROJECTIONS,
  DEFAULT_SUBSET_SIZE,
  DEFAULT_LARGE_PROJECTIONS,
  DEFAULT_LARGE_SUBSET_SIZE,
  DEFAULT_WORST,
  ReportBuilder,
  caseLabeler,
  casePointOrReport,
  checkedSize,
  nonNegativeInteger,
  nonNegativeNumber,
  optionSetsFor,
  optionsLabel,
  paramNamesOf,
  shapesFor,
  stateInDtypeOf,
  variantOf,
} from './check.js';
import type { GradcheckConfig, Settings } from './check.js';
import { checkForwardPurity, snapshot } from './contract-checks.js';
import { checkFullJacobian, errorMessage } from './jacobian.js';
import type { SlotOutcome } from './jacobian.js';
import { float64ReferenceOf } from './point.js';
import { presentTensors } from './problem.js';
import type { AnyBound, AnyNormalizer, TensorRecord } from './problem.js';
import { checkProjections } from './projection.js';
import { deriveSeed, normalRng, randomValues } from './random.js';
import type { CaseLabel, CaseSize, GradcheckReport } from './report.js';
import { formatReport } from './report.js';
import {
  checkDoubleBackwardAbsentDgrads,
  checkDoubleBackwardFloat32,
  checkDoubleBackwardDeterminism,
  checkDoubleBackwardLinearity,
  checkDoubleBackwardPurity,
  checkDoubleBackwardShapes,
} from './second-order-contracts.js';
import { checkDoubleBackwardLayout } from './second-order-layouts.js';
import { SecondOrderProblem } from './second-order-problem.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from './tolerance.js';
import { INPUT_LAYOUTS } from './views.js';

/** The slots an order-2 case reports: x, each parameter, and dy. */
function slotNames(paramNames: readonly string[]): string[] {
  return ['x', ...paramNames, 'dy'];
}

/** The first-order summaries speak of "Σ r⊙y"; here the function is backward and the weights are c. */
function secondOrderSummary(outcome: SlotOutcome): SlotOutcome {
  return { ...outcome, summary: outcome.summary.replace('Σ r⊙y', 'S = Σ c⊙(dx, grads)').replace('uᵀJv', 'uᵀJv of backward') };
}

function runSecondOrderCase(
  builder: ReportBuilder,
  bound: AnyBound,
  settings: Settings,
  label: CaseLabel,
  x: Tensor,
  params: TensorRecord,
  state: TensorRecord,
): void {
  const names = slotNames(Object.keys(params));
  const guessMethod = sizeOf(x.shape) <= settings.fullJacobianMaxSize ? 'full-jacobian' : 'projection';
  const before = { x: snapshot({ x }).get('x')!, params: snapshot(params), state: snapshot(state) };
  const caseSeed = deriveSeed(settings.seed, label.optionsIndex, label.shape.join('x'), label.mode);

  let problem: SecondOrderProblem;
  try {
    const y = bound.forward({ x, params, state, mode: label.mode }).y;
    // dy is the first-order check's cotangent r: the same point, one order up.
    const dy = randomValues(sizeOf(y.shape), normalRng(deriveSeed(caseSeed, 'r')));
    problem = new SecondOrderProblem(bound, label.mode, x, params, state, dy);
  } catch (e) {
    builder.setupFailure(label, names, guessMethod, `forward or backward threw at the checked point: ${errorMessage(e)}`);
    builder.contract(label, checkForwardPurity(before, { x, params, state }));
    return;
  }
  const c = randomValues(problem.ySize, normalRng(deriveSeed(caseSeed, 'second-order', 'c')));
  const full = sizeOf(x.shape) <= settings.fullJacobianMaxSize && problem.ySize <= settings.fullJacobianMaxSize;
  const method = full ? 'full-jacobian' : 'projection';
  const compare = { tolerance: { rtol: settings.rtol, atol: settings.atol }, keep: settings.worst, richardson: settings.richardson };
  const outcomes = full
    ? checkFullJacobian(problem, c, compare)
    : checkProjections(problem, c, { ...compare, projections: settings.projections, subsetSize: settings.subsetSize, seed: deriveSeed(caseSeed, 'second-order', 'projection') });
  problem.slots.forEach((s, k) => builder.tensorCheck(label, s.name, method, secondOrderSummary(outcomes[k])));

  builder.contract(label, checkDoubleBackwardDeterminism(problem, c));
  builder.contract(label, checkDoubleBackwardPurity(problem, c));
  builder.contract(label, checkDoubleBackwardLinearity(problem, c));
  builder.contract(label, checkDoubleBackwardAbsentDgrads(problem, c));
  // The point and the cotangents rounded to float32; `dtype` runs forward and doubleBackward on
  // those values in float32, or in float64 (widened exactly, the plugin's float64 reference for
  // float32 calls) for the value comparison.
  const roundedRun = (dtype: 'float32' | 'float64') => {
    const runner = dtype === 'float32' ? bound : float64ReferenceOf(bound, 'float32');
    const member = runner.doubleBackward;
    if (typeof member !== 'function') throw new Error('no doubleBackward');
    const inDtype = (t: Tensor): Tensor => toContiguous(toContiguous(t, 'float32'), dtype);
    const record = (r: TensorRecord): TensorRecord => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, inDtype(t)]));
    const xIn = inDtype(x);
    const paramsIn = record(params);
    const forward = runner.forward({ x: xIn, params: paramsIn, state: stateInDtypeOf(record(state), runner, dtype), mode: label.mode });
    const { ddx, dgrads } = problem.cotangents(c);
    const dy32 = Float32Array.from(problem.dy);
    const dy = tensor(dtype === 'float32' ? dy32 : Float64Array.from(dy32), forward.y.shape.slice());
    const result = member({ dy, params: paramsIn, saved: forward.saved, ddx: inDtype(ddx), dgrads: record(dgrads) });
    return { x: xIn, params: paramsIn, yShape: forward.y.shape.slice(), result: { dx: result.dx, ddy: result.ddy, grads: presentTensors(result.grads) } };
  };
  builder.contract(label, checkDoubleBackwardShapes(problem, c, () => roundedRun('float32')));
  builder.contract(label, checkDoubleBackwardFloat32(() => roundedRun('float32').result, () => roundedRun('float64').result));
  for (const layout of INPUT_LAYOUTS) builder.contract(variantOf(label, `layout:${layout}`), checkDoubleBackwardLayout(problem, c, layout));
  builder.contract(label, checkForwardPurity(before, { x, params, state }));
}

/**
 * The order-2 gradient check: a plugin's optional `doubleBackward` (the VJP of its backward
 * pass) against finite differences of its own `backward`, in float64, with the same
 * machinery as {@link checkGradients}.
 *
 * The function differentiated is $`F(x, \theta, dy) = (dx, \partial L/\partial\theta)`$, the
 * plugin's forward + backward at a point; its slots are `x`, every parameter and `dy`. For
 * each option set, shape and mode (the defaults of {@link checkGradients}):
 *
 * - the point is the first-order check's (same seeds): x, the noisy parameters, the state
 *   after a burn-in batch, and `dy` = the first-order cotangent r;
 * - the scalar is $`S = \sum c \odot F`$ with c ~ N(0, 1) over `dx` and every parameter
 *   gradient: `doubleBackward(ddx, dgrads = c)` is compared with central differences of S,
 *   and, at small sizes, every entry of the Jacobian of F (one `doubleBackward` per output
 *   element against two forward + backward calls per input element); at larger sizes,
 *   random projections uᵀJv plus a random subset of gradient elements;
 * - the same pass rule (rtol, atol·scale), Richardson option and refinement of failures as
 *   order 1, and the same report (`order: 2`; the tensors are `x`, the parameters and `dy`;
 *   ∂S/∂dy, the JVP of y, is the `dy` check);
 * - contract checks: `double-backward-determinism` (bitwise), `double-backward-purity`
 *   (`dy`, `params`, `saved`, `ddx`, `dgrads` unchanged), `double-backward-linearity` in the
 *   cotangents, `double-backward-absent-dgrads` (no `dgrads` = zero `dgrads`),
 *   `double-backward-shapes-dtypes` (float64 and float32), `double-backward-float32` (the
 *   float32 call's values against float64 on the same rounded values), `forward-purity`, and
 *   `double-backward-layout` per input layout (variants `layout:offset`, `layout:permuted`,
 *   `layout:negative-stride`: every argument of forward and `doubleBackward` as a view,
 *   together and each alone, against the contiguous call);
 * - the example shapes, or with `size: 'large'` the plugin's `largeShapes()` in projection
 *   mode (the large-case budget), or both with `size: 'all'`; the layout variants run at
 *   every shape (no dtype-mix variants).
 *
 * A plugin whose bound normalizer has no `doubleBackward` (decided on the first option set
 * that binds) is not a failure: the report has `skipped` set, `ok: true` and no checks.
 *
 * @param plugin - any normalizer
 * @param config - what to check and how (see {@link GradcheckConfig})
 * @returns the report (`order: 2`)
 * @throws NormkitError `E_PLUGIN` when `plugin` is not a normalizer, `E_OPTION` for a bad config
 * @example
 * ```ts
 * const report = checkSecondOrder(batchNorm);
 * console.log(formatReport(report)); // gradcheck batch-norm@… (order 2): PASS
 * ```
 */
export function checkSecondOrder<T extends NormalizerTypes>(plugin: Normalizer<T>, config: GradcheckConfig<T> = {}): GradcheckReport {
  assertNormalizer(plugin);
  const p = plugin as unknown as AnyNormalizer;
  const size = checkedSize(config.size);
  const settings: Settings = {
    seed: nonNegativeInteger(config.seed, 0, 'seed'),
    rtol: nonNegativeNumber(config.rtol, DEFAULT_RTOL, 'rtol'),
    atol: nonNegativeNumber(config.atol, DEFAULT_ATOL, 'atol'),
    richardson: config.richardson === true,
    fullJacobianMaxSize: nonNegativeInteger(config.fullJacobianMaxSize, DEFAULT_FULL_JACOBIAN_MAX_SIZE, 'fullJacobianMaxSize'),
    projections: nonNegativeInteger(config.projections, DEFAULT_PROJECTIONS, 'projections'),
    subsetSize: nonNegativeInteger(config.subsetSize, DEFAULT_SUBSET_SIZE, 'subsetSize'),
    worst: nonNegativeInteger(config.worst, DEFAULT_WORST, 'worst'),
    // Order 2 checks the Jacobian on contiguous inputs, then float32 values at the point
    // (double-backward-float32) and the input layouts (double-backward-layout) at every shape,
    // no dtype mixes; at the example shapes, the large shapes (projection mode) or both.
    size,
    largeProjections: nonNegativeInteger(config.largeProjections, DEFAULT_LARGE_PROJECTIONS, 'largeProjections'),
    largeSubsetSize: nonNegativeInteger(config.largeSubsetSize, DEFAULT_LARGE_SUBSET_SIZE, 'largeSubsetSize'),
    variantShapes: 'one',
  };
  const modes = config.modes ?? p.modes;
  if (!Array.isArray(modes) || modes.some((m) => m !== 'train' && m !== 'eval')) {
    throw new NormkitError('E_OPTION', `gradcheck config.modes: expected a list of 'train' | 'eval', got ${optionsLabel(modes)}`, 'config.modes');
  }
  const builder = new ReportBuilder();
  const name = p.meta.name;
  const { seed, ...reportSettings } = settings;
  const report = (skipped?: string): GradcheckReport => ({
    plugin: name,
    version: p.meta.version,
    ok: builder.checks.every((c) => c.ok) && builder.contracts.every((c) => c.ok),
    seed,
    settings: reportSettings,
    checks: builder.checks,
    contracts: builder.contracts,
    order: 2,
    ...(skipped === undefined ? {} : { skipped }),
  });

  let memberDecided = false;
  const sizes: CaseSize[] = size === 'all' ? ['example', 'large'] : [size];
  for (const caseSize of sizes) {
    const large = caseSize === 'large';
    const optionSets = optionSetsFor(p, config.options, large);
    // Large shapes in projection mode with the large-case budget, as order 1 runs them.
    const caseSettings: Settings = large ? { ...settings, fullJacobianMaxSize: 0, projections: settings.largeProjections, subsetSize: settings.largeSubsetSize } : settings;
    for (let optionsIndex = 0; optionsIndex < optionSets.length; optionsIndex++) {
      const input = optionSets[optionsIndex];
      const labelOf = caseLabeler(p, optionsIndex, input, caseSize);
      let bound: AnyBound;
      let shapes: readonly Shape[] | undefined;
      try {
        bound = p.create(input);
        shapes = shapesFor(bound, large ? config.largeShapes : config.shapes, large);
      } catch (e) {
        for (const mode of modes) builder.setupFailure(labelOf(mode, []), ['x'], 'full-jacobian', `options or shapes rejected: ${errorMessage(e)}`);
        continue;
      }
      if (!memberDecided) {
        memberDecided = true;
        if (typeof bound.doubleBackward !== 'function') {
          return report(`${name} has no doubleBackward member (the optional second-order pass): nothing to check at order 2`);
        }
      }
      if (shapes === undefined) {
        builder.contract(labelOf(modes[0] ?? 'train', []), { name: 'large-shapes', status: 'error', message: 'the plugin declares no largeShapes(): nothing to check at size large' });
        continue;
      }
      const paramNames = paramNamesOf(bound);
      for (const shape of shapes) {
        // The first-order check's point, drawn from the same seeds.
        const method = sizeOf(shape) <= caseSettings.fullJacobianMaxSize ? 'full-jacobian' : 'projection';
        const point = casePointOrReport(builder, p, bound, shape, settings.seed, optionsIndex, large, { modes, labelOf, slots: slotNames(paramNames), method });
        if (point === null) continue;
        const { x, params, state } = point;
        for (const mode of modes) runSecondOrderCase(builder, bound, caseSettings, labelOf(mode, shape), x, params, state);
      }
    }
  }
  return report();
}

/**
 * The order-2 test helper: runs {@link checkSecondOrder} and throws when anything failed,
 * or when the plugin has no `doubleBackward` (asserting second order of a plugin without it
 * is a mistake), with the {@link formatReport} table as the message.
 *
 * @param plugin - any normalizer with the optional `doubleBackward` member
 * @param config - what to check and how (see {@link GradcheckConfig})
 * @returns the report, when everything passed
 * @throws Error whose message is `formatReport(report)` when a check failed or nothing was checked
 */
export function assertSecondOrder<T extends NormalizerTypes>(plugin: Normalizer<T>, config: GradcheckConfig<T> = {}): GradcheckReport {
  const report = checkSecondOrder(plugin, config);
  if (!report.ok || report.skipped !== undefined) {
    const error = new Error(formatReport(report));
    error.name = 'GradcheckError';
    throw error;
  }
  return report;
}
