import { NormkitError, assertNormalizer, dtypeOf, sizeOf, tensor, toContiguous } from '@normkit/core';
import type { DtypeSupport, Invariant, Mode, Normalizer, NormalizerTypes, Shape, StateUpdate, Tensor } from '@normkit/core';
import {
  checkBackwardDeterminism,
  checkBackwardPurity,
  checkForwardDeterminism,
  checkForwardPurity,
  checkInvariant,
  checkLinearity,
  checkShapesDtypes,
  checkZeroDy,
  snapshot,
} from './contract-checks.js';
import type { ContractOutcome, INVARIANT_ATOL, LINEARITY_ATOL } from './contract-checks.js';
import { checkMixedDtypes } from './dtype-checks.js';
import type { REFINEMENT_LADDER } from './finite-difference.js';
import { checkFloat32Values } from './float32-check.js';
import { checkFullJacobian, errorMessage } from './jacobian.js';
import type { SlotOutcome } from './jacobian.js';
import { checkInputLayout, checkOutBuffers, layoutBaselines } from './layout-checks.js';
import { checkModeIdentity } from './mode-identity.js';
import type { CheckPoint } from './point.js';
import { counterNames } from './point.js';
import { Problem, presentTensors } from './problem.js';
import type { AnyBound, AnyNormalizer, TensorRecord } from './problem.js';
import { checkProjections } from './projection.js';
import { deriveSeed, normalRng, randomNormalTensor, randomValues } from './random.js';
import type { CaseLabel, CaseSize, CheckVariant, ContractCheck, GradcheckReport, ReportSettings, TensorCheck } from './report.js';
import type { FLOAT32_RTOL } from './float32-check.js';
import type { LAYOUT_RTOL } from './layout-checks.js';
import type { STATE_RTOL } from './state-update.js';
import { describeVariant } from './report.js';
import { checkEvalState, checkStateUpdate } from './state-update.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from './tolerance.js';
import { INPUT_LAYOUTS } from './views.js';

/** Default {@link GradcheckConfig.fullJacobianMaxSize}: full Jacobians up to 2048 × 2048 (32 MB of float64). */
export const DEFAULT_FULL_JACOBIAN_MAX_SIZE = 2048;
/** Default {@link GradcheckConfig.projections}. */
export const DEFAULT_PROJECTIONS = 8;
/** Default {@link GradcheckConfig.subsetSize}. */
export const DEFAULT_SUBSET_SIZE = 32;
/** Default {@link GradcheckConfig.worst}. */
export const DEFAULT_WORST = 3;
/** Standard deviation of the noise added to the initial parameters (so γ ≠ 1, β ≠ 0). */
export const PARAM_NOISE = 0.5;
/**
 * Default {@link GradcheckConfig.largeProjections}. With {@link DEFAULT_LARGE_SUBSET_SIZE},
 * the cost of a large case is bounded whatever its size: 2·(4 + 8) = 24 forward calls and 5
 * backward calls per tensor for the gradients, plus about 40 calls for the variants. A
 * size-dependent path that is wrong is wrong for most elements, which 4 random projections
 * and 8 random elements do not miss.
 */
export const DEFAULT_LARGE_PROJECTIONS = 4;
/** Default {@link GradcheckConfig.largeSubsetSize} (see {@link DEFAULT_LARGE_PROJECTIONS}). */
export const DEFAULT_LARGE_SUBSET_SIZE = 8;

/** Which shapes {@link checkGradients} checks: `'example'` (default), `'large'`, or `'all'` (both). */
export type GradcheckSize = 'example' | 'large' | 'all';

/**
 * What {@link checkGradients} checks and how. Everything is optional: by default every
 * option set of `plugin.exampleOptions`, every shape of `exampleShapes()`, both modes (only
 * `plugin.modes` when the bound normalizer declares `modeIndependent`), seed 0, full Jacobians
 * where x and y have ≤ 2048 elements.
 */
export interface GradcheckConfig<T extends NormalizerTypes = NormalizerTypes> {
  /**
   * One option set or a list (before `resolveOptions`); default `plugin.exampleOptions` for
   * the example shapes and `plugin.largeOptions ?? plugin.exampleOptions` for the large ones.
   */
  readonly options?: T['InputOptions'] | readonly T['InputOptions'][];
  /** The example input shapes, or a function of the resolved options; default `plugin.create(options).exampleShapes()`. */
  readonly shapes?: readonly Shape[] | ((options: T['Options']) => readonly Shape[]);
  /** The large input shapes, or a function of the resolved options; default `plugin.create(options).largeShapes()`. */
  readonly largeShapes?: readonly Shape[] | ((options: T['Options']) => readonly Shape[]);
  /**
   * Which shapes: `'example'` (default; full Jacobians where small), `'large'` (the large
   * shapes, in projection mode with {@link GradcheckConfig.largeProjections} and
   * {@link GradcheckConfig.largeSubsetSize}) or `'all'`.
   */
  readonly size?: GradcheckSize;
  /**
   * The modes; default both, since `forward` accepts both, or `plugin.modes` when the bound
   * normalizer declares `modeIndependent` (a claim then checked on the example inputs).
   */
  readonly modes?: readonly Mode[];
  /** The seed every random draw derives from (default 0). */
  readonly seed?: number;
  /**
   * Full Jacobians when x and y both have at most this many elements (default 2048);
   * otherwise random projections plus a random subset of gradient elements.
   */
  readonly fullJacobianMaxSize?: number;
  /** Random projections uᵀJv per tensor in projection mode (default 8). */
  readonly projections?: number;
  /** Gradient elements checked per tensor in projection mode (default 32). */
  readonly subsetSize?: number;
  /**
   * Richardson extrapolation (4·D(h/2) − D(h))/3 of every difference (default false; twice
   * the forward calls). Either way, a value out of tolerance is re-checked with refined
   * estimates before it is reported (see {@link REFINEMENT_LADDER}).
   */
  readonly richardson?: boolean;
  /** Relative tolerance (default {@link DEFAULT_RTOL} = 1e-5). */
  readonly rtol?: number;
  /** Absolute tolerance, times the scale max(1, max|numeric|) (default {@link DEFAULT_ATOL} = 1e-6). */
  readonly atol?: number;
  /** How many worst entries each tensor check reports (default 3). */
  readonly worst?: number;
  /**
   * Where the variant checks run at the example size (float32 values, layouts and `out`, mixed
   * dtypes, state updates): `'one'` (default), at one shape per option set, the last example
   * shape (usually the one of highest rank), in every mode; `'all'`, at every example shape.
   * The base checks run at every shape either way, and at the large size the variants run at
   * every large shape. `'one'` keeps `normkit gradcheck` close to the cost of the base checks
   * (the variants add about a third, where every shape would double it); plugin test suites
   * that can spend a few seconds use `'all'`.
   */
  readonly variantShapes?: 'one' | 'all';
  /** Random projections uᵀJv per tensor at the large shapes (default {@link DEFAULT_LARGE_PROJECTIONS}). */
  readonly largeProjections?: number;
  /** Gradient elements checked per tensor at the large shapes (default {@link DEFAULT_LARGE_SUBSET_SIZE}). */
  readonly largeSubsetSize?: number;
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new NormkitError('E_OPTION', `gradcheck config.${name}: expected a non-negative integer, got ${String(value)}`, `config.${name}`);
  }
  return value;
}

function nonNegativeNumber(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new NormkitError('E_OPTION', `gradcheck config.${name}: expected a finite number ≥ 0, got ${String(value)}`, `config.${name}`);
  }
  return value;
}

/** Compact JSON of an option set, for labels. */
export function optionsLabel(options: unknown): string {
  try {
    return JSON.stringify(options ?? {}) ?? String(options);
  } catch {
    return String(options);
  }
}

/**
 * The id of a check: `plugin:mode:o<optionsIndex>:<shape as 4x3x5x5>:<suffix>`, with
 * `:large` after the shape for a large shape.
 */
export function checkId(label: Pick<CaseLabel, 'plugin' | 'mode' | 'optionsIndex' | 'shape'> & Partial<Pick<CaseLabel, 'size'>>, suffix: string): string {
  const shape = label.shape.length === 0 ? 'scalar' : label.shape.join('x');
  return `${label.plugin}:${label.mode}:o${label.optionsIndex}:${shape}${label.size === 'large' ? ':large' : ''}:${suffix}`;
}

/** A failure message with its variant in front (see {@link describeVariant}); pass messages unchanged. */
function withVariant(label: CaseLabel, status: string, message: string): string {
  const variant = describeVariant(label);
  return status === 'pass' || variant === '' ? message : `[${variant}] ${message}`;
}

interface Settings extends ReportSettings {
  readonly seed: number;
}

class ReportBuilder {
  readonly checks: TensorCheck[] = [];
  readonly contracts: ContractCheck[] = [];

  tensorCheck(label: CaseLabel, tensorName: string, method: TensorCheck['method'], outcome: SlotOutcome): void {
    const t = outcome.tracker;
    const status = outcome.error !== undefined ? 'error' : t.failures > 0 ? 'fail' : 'pass';
    const refined = t.refined > 0 ? ` (${t.refined} of them only after refining the finite difference)` : '';
    const failures =
      method === 'float32'
        ? `${t.failures} of ${t.compared} values out of the float32 tolerance; compared ${outcome.summary}`
        : `${t.failures} of ${t.compared} values out of tolerance, at the default step and under refinement; compared ${outcome.summary}`;
    const message = outcome.error ?? (t.failures > 0 ? failures : `${t.compared} values within tolerance${refined}: ${outcome.summary}`);
    this.checks.push({
      ...label,
      shape: label.shape.slice(),
      id: checkId(label, method === 'float32' ? `float32:${tensorName}` : tensorName),
      tensor: tensorName,
      method,
      ok: status === 'pass',
      status,
      compared: t.compared,
      failures: t.failures,
      maxAbsErr: status === 'error' ? Number.NaN : t.maxAbsErr,
      maxRelErr: status === 'error' ? Number.NaN : t.maxRelErr,
      worst: t.worst(),
      message: withVariant(label, status, message),
    });
  }

  erroredTensor(label: CaseLabel, tensorName: string, method: TensorCheck['method'], message: string): void {
    this.checks.push({
      ...label,
      shape: label.shape.slice(),
      id: checkId(label, tensorName),
      tensor: tensorName,
      method,
      ok: false,
      status: 'error',
      compared: 0,
      failures: 0,
      maxAbsErr: Number.NaN,
      maxRelErr: Number.NaN,
      worst: [],
      message: withVariant(label, 'error', message),
    });
  }

  contract(label: CaseLabel, outcome: ContractOutcome): void {
    this.contracts.push({
      ...label,
      shape: label.shape.slice(),
      id: checkId(label, outcome.detail === undefined ? outcome.name : `${outcome.name}:${outcome.detail}`),
      name: outcome.name,
      ok: outcome.status === 'pass',
      status: outcome.status,
      message: withVariant(label, outcome.status, outcome.message),
    });
  }

  /** Something threw before the gradients could be compared: every tensor of the case errors. */
  setupFailure(label: CaseLabel, tensors: readonly string[], method: TensorCheck['method'], message: string): void {
    for (const name of tensors) this.erroredTensor(label, name, method, message);
    this.contract(label, { name: 'setup', status: 'error', message });
  }
}

/** `config.size`, checked: `'example'` (default), `'large'` or `'all'`. */
function checkedSize(size: unknown): 'example' | 'large' | 'all' {
  const value = size ?? 'example';
  if (value !== 'example' && value !== 'large' && value !== 'all') {
    throw new NormkitError('E_OPTION', `gradcheck config.size: expected 'example' | 'large' | 'all', got ${optionsLabel(value)}`, 'config.size');
  }
  return value;
}

/** The option sets a case size runs: `config.options` (one or a list), else the plugin's large or example options. */
function optionSetsFor(p: AnyNormalizer, options: unknown, large: boolean): readonly object[] {
  if (options !== undefined) return Array.isArray(options) ? (options as readonly object[]) : [options as object];
  return large ? (p.largeOptions ?? p.exampleOptions) : p.exampleOptions;
}

/** The base label of the cases of one option set at one size, as a function of mode and shape. */
function caseLabeler(p: AnyNormalizer, optionsIndex: number, input: object, size: CaseSize): (mode: Mode, shape: Shape) => CaseLabel {
  return (mode, shape) => ({
    plugin: p.meta.name,
    optionsIndex,
    options: optionsLabel(input),
    mode,
    shape: shape.slice(),
    size,
    modeListed: p.modes.includes(mode),
    variant: 'base',
  });
}

/**
 * The shapes a bound normalizer is checked at: the configured ones (a list, or a function of
 * the resolved options), else its `exampleShapes()`, or at the large size its `largeShapes()`
 * (`undefined` when it declares none).
 */
function shapesFor(bound: AnyBound, given: readonly Shape[] | ((options: never) => readonly Shape[]) | undefined, large: boolean): readonly Shape[] | undefined {
  if (given === undefined) return large ? bound.largeShapes?.() : bound.exampleShapes();
  return typeof given === 'function' ? given(bound.options as never) : given;
}

/**
 * The point of a case, the same for order 1 and order 2 (order 2 differentiates backward at
 * the point order 1 checks): x ~ N(0, 1), the float64 initial parameters with noise, and the
 * state after one train-mode burn-in batch when the plugin has a train mode, each drawn from
 * a seed of (seed, what, options index, shape), with `'large'` in it for a large shape.
 *
 * @throws whatever `init` or the burn-in forward throws
 */
function casePoint(
  p: AnyNormalizer,
  bound: AnyBound,
  shape: Shape,
  seed: number,
  optionsIndex: number,
  large: boolean,
): { x: Tensor; params: TensorRecord; state: TensorRecord } {
  const shapeKey = shape.join('x');
  const seedOf = (what: string): number => (large ? deriveSeed(seed, what, 'large', optionsIndex, shapeKey) : deriveSeed(seed, what, optionsIndex, shapeKey));
  const x = randomNormalTensor(shape, seedOf('x'));
  const init = bound.init('float64');
  const params = withNoise(presentTensors(init.params), seedOf('params'));
  let state = presentTensors(init.state);
  if (p.modes.includes('train')) {
    const burnIn = randomNormalTensor(shape, seedOf('burn-in'));
    state = presentTensors(bound.forward({ x: burnIn, params, state, mode: 'train' }).state);
  }
  return { x, params, state };
}

/** How a case whose point cannot be drawn is reported: for each mode, a setup failure of these slots. */
interface SetupReport {
  readonly modes: readonly Mode[];
  readonly labelOf: (mode: Mode, shape: Shape) => CaseLabel;
  readonly slots: readonly string[];
  readonly method: 'full-jacobian' | 'projection';
}

/**
 * {@link casePoint}, or `null` after reporting a setup failure in every mode when `init` or
 * the burn-in forward throws (shared by both orders).
 */
function casePointOrReport(
  builder: ReportBuilder,
  p: AnyNormalizer,
  bound: AnyBound,
  shape: Shape,
  seed: number,
  optionsIndex: number,
  large: boolean,
  report: SetupReport,
): { x: Tensor; params: TensorRecord; state: TensorRecord } | null {
  try {
    return casePoint(p, bound, shape, seed, optionsIndex, large);
  } catch (e) {
    for (const mode of report.modes) builder.setupFailure(report.labelOf(mode, shape), report.slots.slice(), report.method, `init or the burn-in forward threw: ${errorMessage(e)}`);
    return null;
  }
}

function withNoise(params: TensorRecord, seed: number): TensorRecord {
  const rng = normalRng(seed);
  const out: TensorRecord = {};
  for (const [name, p] of Object.entries(params)) {
    const copy = toContiguous(p, 'float64');
    for (let i = 0; i < copy.data.length; i++) copy.data[i] += PARAM_NOISE * rng();
    out[name] = copy;
  }
  return out;
}

/**
 * The state in the dtypes `init(dtype)` gives each entry (running statistics follow the
 * dtype; counters such as `numBatchesTracked` stay float64).
 */
function stateInDtypeOf(state: TensorRecord, bound: AnyBound, dtype: 'float32' | 'float64'): TensorRecord {
  const fresh = presentTensors(bound.init(dtype).state);
  const out: TensorRecord = {};
  for (const [name, t] of Object.entries(state)) out[name] = toContiguous(t, fresh[name] === undefined ? dtype : dtypeOf(fresh[name]));
  return out;
}

function toFloat32(record: TensorRecord): TensorRecord {
  const out: TensorRecord = {};
  for (const [name, t] of Object.entries(record)) out[name] = toContiguous(t, 'float32');
  return out;
}

function paramNamesOf(bound: AnyBound): string[] {
  try {
    const shapes = bound.paramShapes() as Record<string, Shape | undefined>;
    return Object.keys(shapes).filter((k) => shapes[k] !== undefined);
  } catch {
    return [];
  }
}

/** What the variant checks of a case need beyond the base point. */
interface CaseExtras {
  /** The state entries that stay float64 (counters). */
  readonly counters: ReadonlySet<string>;
  /** The plugin's dtype declaration, when it makes one. */
  readonly dtypes: DtypeSupport | undefined;
  /** Whether the variant checks run at this shape. */
  readonly variants: boolean;
}

/** A label for a variant check of a case (shared with the order-2 check). */
export function variantOf(label: CaseLabel, variant: CheckVariant): CaseLabel {
  return { ...label, shape: label.shape.slice(), variant };
}

function runCase(
  builder: ReportBuilder,
  bound: AnyBound,
  settings: Settings,
  label: CaseLabel,
  x: Tensor,
  params: TensorRecord,
  state: TensorRecord,
  extras: CaseExtras,
): void {
  const tensorNames = ['x', ...Object.keys(params)];
  const large = label.size === 'large';
  const guessMethod = !large && sizeOf(x.shape) <= settings.fullJacobianMaxSize ? 'full-jacobian' : 'projection';
  const before = { x: snapshot({ x }).get('x')!, params: snapshot(params), state: snapshot(state) };
  const caseSeed = large
    ? deriveSeed(settings.seed, 'large', label.optionsIndex, label.shape.join('x'), label.mode)
    : deriveSeed(settings.seed, label.optionsIndex, label.shape.join('x'), label.mode);

  let problem: Problem;
  try {
    problem = new Problem(bound, label.mode, x, params, state);
  } catch (e) {
    builder.setupFailure(label, tensorNames, guessMethod, `forward threw at the checked point: ${errorMessage(e)}`);
    builder.contract(label, checkForwardPurity(before, { x, params, state }));
    return;
  }
  const r = randomValues(problem.ySize, normalRng(deriveSeed(caseSeed, 'r')));
  const full = !large && sizeOf(x.shape) <= settings.fullJacobianMaxSize && problem.ySize <= settings.fullJacobianMaxSize;
  const method = full ? 'full-jacobian' : 'projection';
  const compare = { tolerance: { rtol: settings.rtol, atol: settings.atol }, keep: settings.worst, richardson: settings.richardson };
  const outcomes = full
    ? checkFullJacobian(problem, r, compare)
    : checkProjections(problem, r, {
        ...compare,
        projections: large ? settings.largeProjections : settings.projections,
        subsetSize: large ? settings.largeSubsetSize : settings.subsetSize,
        seed: deriveSeed(caseSeed, 'projection'),
      });
  problem.slots.forEach((s, k) => builder.tensorCheck(label, s.name, method, outcomes[k]));

  builder.contract(label, checkForwardDeterminism(problem));
  builder.contract(label, checkBackwardDeterminism(problem, r));
  builder.contract(label, checkBackwardPurity(problem, r));
  builder.contract(label, checkZeroDy(problem));
  builder.contract(label, checkLinearity(problem, r));
  builder.contract(
    label,
    checkShapesDtypes(problem, r, () => {
      const x32 = toContiguous(x, 'float32');
      const params32 = toFloat32(params);
      const forward = bound.forward({ x: x32, params: params32, state: stateInDtypeOf(state, bound, 'float32'), mode: label.mode });
      const dy = tensor(Float32Array.from(r), problem.yShape);
      return { x: x32, params: params32, y: forward.y, result: bound.backward({ dy, params: params32, saved: forward.saved }) };
    }),
  );
  let invariants: readonly Invariant[] = [];
  try {
    invariants = bound.invariants?.(label.mode, x.shape.slice()) ?? [];
    if (!Array.isArray(invariants)) throw new Error(`expected a list, got ${optionsLabel(invariants)}`);
  } catch (e) {
    invariants = [];
    builder.contract(label, { name: 'invariant', status: 'error', message: `invariants() failed: ${errorMessage(e)}` });
  }
  for (const invariant of invariants) builder.contract(label, checkInvariant(problem, r, invariant));

  // The variants: the same point in float32, in other layouts, in mixed dtypes, and its state.
  if (!extras.variants) {
    builder.contract(label, checkForwardPurity(before, { x, params, state }));
    return;
  }
  const point: CheckPoint = { bound, mode: label.mode, x, params, state, r, yShape: problem.yShape, counters: extras.counters };
  for (const o of checkFloat32Values(point, settings.worst)) builder.tensorCheck(variantOf(label, 'dtype:float32'), o.tensor, 'float32', o);
  const baselines = layoutBaselines(point);
  for (const layout of INPUT_LAYOUTS) builder.contract(variantOf(label, `layout:${layout}`), checkInputLayout(point, layout, baselines));
  builder.contract(variantOf(label, 'layout:out'), checkOutBuffers(point, baselines));
  if (extras.dtypes !== undefined) builder.contract(variantOf(label, 'dtype:mixed'), checkMixedDtypes(point, extras.dtypes));
  let declared = false;
  if (typeof bound.stateUpdate === 'function') {
    let update: StateUpdate | null = null;
    try {
      update = bound.stateUpdate(x.shape.slice());
    } catch (e) {
      declared = true; // reported as an error; no second check
      builder.contract(variantOf(label, 'state'), { name: 'state-update', status: 'error', message: `stateUpdate() failed: ${errorMessage(e)}` });
    }
    if (update !== null && update !== undefined) {
      declared = true;
      builder.contract(variantOf(label, 'state'), checkStateUpdate(point, update));
    }
  }
  // Without a declaration, an eval mode of the plugin's own must still hand the state back
  // unchanged. Not when eval is not one of plugin.modes, or the plugin declares it computes what
  // train computes (modeIndependent: then train's state update is eval's too, and mode-identity
  // compares the two).
  const ownEval = label.mode === 'eval' && label.modeListed && bound.modeIndependent !== true;
  if (!declared && ownEval && Object.keys(state).length > 0) builder.contract(variantOf(label, 'state'), checkEvalState(point));
  builder.contract(label, checkForwardPurity(before, { x, params, state }));
}

/** The plugin's dtype declaration, or `undefined` when it makes none; a malformed one throws. */
function dtypeSupportOf(bound: AnyBound): DtypeSupport | undefined {
  const declared = bound.dtypes;
  if (declared === undefined) return undefined;
  const ok =
    typeof declared === 'object' && declared !== null && ['either', 'same-as-x'].includes(declared.dy) && ['either', 'same-as-x'].includes(declared.params);
  if (!ok) throw new Error(`dtypes: expected { dy: 'either' | 'same-as-x', params: 'either' | 'same-as-x' }, got ${optionsLabel(declared)}`);
  return declared;
}

/**
 * Checks a plugin's hand-written `backward` against finite differences of its `forward`,
 * in float64, and checks the rest of its contract.
 *
 * For each option set (default `plugin.exampleOptions`), each shape (default
 * `create(options).exampleShapes()`; with `size: 'large'`, `largeShapes()` in projection mode)
 * and each mode (default both; `plugin.modes` when the plugin declares `modeIndependent`):
 *
 * - the point: x ~ N(0, 1); params = `create(options).init('float64')` + 0.5·N(0, 1) noise;
 *   state = `init`'s, after one train-mode forward on another random batch when the plugin
 *   has a train mode (so eval sees non-trivial running statistics). All seeded from `seed`.
 * - the loss L = Σ r⊙y with r ~ N(0, 1) (never Σ y, whose gradient through a normalizer
 *   is identically zero). For x and every parameter, backward(dy = r) is compared with the
 *   central differences of L, one element at a time, step h = ∛ε·max(1, |v|).
 * - small sizes (x and y ≤ `fullJacobianMaxSize` elements): the whole Jacobian ∂y/∂x and
 *   ∂y/∂p, entry by entry (analytic rows from one-hot backward calls). The Jacobian of a
 *   normalizer has a null space (shifts and scalings of a group), which random directions
 *   can miss; the full Jacobian cannot.
 * - larger sizes: `projections` random uᵀJv per tensor and the gradient at `subsetSize`
 *   random elements.
 * - a value passes when |a − n| ≤ atol·scale + rtol·|n|, scale = max(1, max|n|) over
 *   its comparison.
 * - a failure must persist under refinement: a value out of tolerance at the default step
 *   is compared again with Richardson extrapolation and with the steps h/4 and h/16
 *   ({@link REFINEMENT_LADDER}), and passes when one of them agrees. This removes the
 *   truncation error of functions that vary on a scale ≪ 1 (a small-norm slice), while a
 *   wrong backward, off by ≥ 1e-3, agrees with none of them.
 * - contract checks: forward and backward purity (bitwise; backward's of `dy`, `params` and
 *   `saved`), forward and backward determinism (bitwise), zero dy ⇒ zero gradients,
 *   linearity in dy, shapes and dtypes (float64 and float32), and every invariant the plugin
 *   declares. Linearity and the invariants have absolute floors scaled to the magnitude of the
 *   computation ({@link LINEARITY_ATOL}, {@link INVARIANT_ATOL}), so gradients or sums that are
 *   zero in exact arithmetic and computed as rounding noise pass.
 * - the variants of the same point (see {@link CheckVariant}): float32 values against the
 *   float64 run on the same inputs ({@link FLOAT32_RTOL}); x, dy, the parameters and the state
 *   as offset, permuted and negative-stride views, and preallocated `out` buffers, against the
 *   contiguous run ({@link LAYOUT_RTOL}); the dtype mixes the plugin declares (`dtypes`); the
 *   next state against the plugin's `stateUpdate` ({@link STATE_RTOL}), or without one, in
 *   eval mode, the state handed back unchanged (`eval-state`); and, for a
 *   `modeIndependent` plugin, train against eval. At the example size they run at one shape
 *   per option set unless `variantShapes: 'all'`; at the large size, at every shape. A failure
 *   of a variant says which one in its message (see {@link describeVariant}).
 *
 * A plugin that throws is reported (status `'error'`), not propagated.
 *
 * @param plugin - any normalizer
 * @param config - what to check and how (see {@link GradcheckConfig})
 * @returns the report; `report.ok` is true when everything passed
 * @throws NormkitError `E_PLUGIN` when `plugin` is not a normalizer, `E_OPTION` for a bad config
 */
export function checkGradients<T extends NormalizerTypes>(plugin: Normalizer<T>, config: GradcheckConfig<T> = {}): GradcheckReport {
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
    size,
    largeProjections: nonNegativeInteger(config.largeProjections, DEFAULT_LARGE_PROJECTIONS, 'largeProjections'),
    largeSubsetSize: nonNegativeInteger(config.largeSubsetSize, DEFAULT_LARGE_SUBSET_SIZE, 'largeSubsetSize'),
    variantShapes: config.variantShapes ?? 'one',
  };
  if (settings.variantShapes !== 'one' && settings.variantShapes !== 'all') {
    throw new NormkitError('E_OPTION', `gradcheck config.variantShapes: expected 'one' | 'all', got ${optionsLabel(config.variantShapes)}`, 'config.variantShapes');
  }
  if (config.modes !== undefined && (!Array.isArray(config.modes) || config.modes.some((m) => m !== 'train' && m !== 'eval'))) {
    throw new NormkitError('E_OPTION', `gradcheck config.modes: expected a list of 'train' | 'eval', got ${optionsLabel(config.modes)}`, 'config.modes');
  }
  const builder = new ReportBuilder();
  const name = p.meta.name;
  const sizes: CaseSize[] = size === 'all' ? ['example', 'large'] : [size];

  for (const caseSize of sizes) {
    const large = caseSize === 'large';
    optionSetsFor(p, config.options, large).forEach((input, optionsIndex) => {
      const labelOf = caseLabeler(p, optionsIndex, input, caseSize);
      let bound: AnyBound;
      let shapes: readonly Shape[] | undefined;
      let modes: readonly Mode[];
      let dtypes: DtypeSupport | undefined;
      try {
        bound = p.create(input);
        modes = config.modes ?? (bound.modeIndependent === true ? p.modes : (['train', 'eval'] as const));
        shapes = shapesFor(bound, large ? config.largeShapes : config.shapes, large);
        dtypes = dtypeSupportOf(bound);
      } catch (e) {
        for (const mode of config.modes ?? p.modes) builder.setupFailure(labelOf(mode, []), ['x'], 'full-jacobian', `options, shapes or declarations rejected: ${errorMessage(e)}`);
        return;
      }
      if (shapes === undefined) {
        builder.contract(labelOf('train', []), { name: 'large-shapes', status: 'error', message: 'the plugin declares no largeShapes(): nothing to check at size large' });
        return;
      }
      const counters = counterNames(bound);
      const paramNames = paramNamesOf(bound);
      const lastShape = shapes.length - 1;
      shapes.forEach((shape, shapeIndex) => {
        const extras: CaseExtras = { counters, dtypes, variants: large || settings.variantShapes === 'all' || shapeIndex === lastShape };
        const method = !large && sizeOf(shape) <= settings.fullJacobianMaxSize ? 'full-jacobian' : 'projection';
        const point = casePointOrReport(builder, p, bound, shape, settings.seed, optionsIndex, large, { modes, labelOf, slots: ['x', ...paramNames], method });
        if (point === null) return;
        const { x, params, state } = point;
        for (const mode of modes) runCase(builder, bound, settings, labelOf(mode, shape), x, params, state, extras);
        if (bound.modeIndependent === true && !large) {
          const label = { ...labelOf('eval', shape), variant: 'mode:identity' as const };
          let point: CheckPoint | undefined;
          try {
            const y = bound.forward({ x, params, state, mode: 'train' }).y;
            const r = randomValues(sizeOf(y.shape), normalRng(deriveSeed(settings.seed, 'mode-identity', optionsIndex, shape.join('x'))));
            point = { bound, mode: 'train', x, params, state, r, yShape: y.shape.slice(), counters };
          } catch (e) {
            builder.contract(label, { name: 'mode-identity', status: 'error', message: `train-mode forward threw: ${errorMessage(e)}` });
          }
          if (point !== undefined) builder.contract(label, checkModeIdentity(point));
        }
      });
    });
  }

  const { seed, ...reportSettings } = settings;
  return {
    plugin: name,
    version: p.meta.version,
    ok: builder.checks.every((c) => c.ok) && builder.contracts.every((c) => c.ok),
    seed,
    settings: reportSettings,
    checks: builder.checks,
    contracts: builder.contracts,
  };
}

// Shared with the order-2 checker (second-order.ts); not part of the package's API.
export { ReportBuilder, casePoint, casePointOrReport, caseLabeler, checkedSize, optionSetsFor, shapesFor, nonNegativeInteger, nonNegativeNumber, paramNamesOf, stateInDtypeOf, toFloat32, withNoise };
export type { Settings };
