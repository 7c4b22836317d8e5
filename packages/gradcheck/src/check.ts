import { NormkitError, assertNormalizer, dtypeOf, sizeOf, tensor, toContiguous } from '@normkit/core';
import type { Invariant, Mode, Normalizer, NormalizerTypes, Shape, Tensor } from '@normkit/core';
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
import type { REFINEMENT_LADDER } from './finite-difference.js';
import { checkFullJacobian, errorMessage } from './jacobian.js';
import type { SlotOutcome } from './jacobian.js';
import { Problem, presentTensors } from './problem.js';
import type { AnyBound, AnyNormalizer, TensorRecord } from './problem.js';
import { checkProjections } from './projection.js';
import { deriveSeed, normalRng, randomNormalTensor, randomValues } from './random.js';
import type { CaseLabel, ContractCheck, GradcheckReport, ReportSettings, TensorCheck } from './report.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from './tolerance.js';

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
 * What {@link checkGradients} checks and how. Everything is optional: by default every
 * option set of `plugin.exampleOptions`, every shape of `plugin.exampleShapes`, every mode
 * of `plugin.modes`, seed 0, full Jacobians where x and y have ≤ 2048 elements.
 */
export interface GradcheckConfig<T extends NormalizerTypes = NormalizerTypes> {
  /** One option set or a list (before `resolveOptions`); default `plugin.exampleOptions`. */
  readonly options?: T['InputOptions'] | readonly T['InputOptions'][];
  /** The input shapes, or a function of the resolved options; default `plugin.create(options).exampleShapes()`. */
  readonly shapes?: readonly Shape[] | ((options: T['Options']) => readonly Shape[]);
  /** The modes; default `plugin.modes`. */
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

/** The id of a check: `plugin:mode:o<optionsIndex>:<shape as 4x3x5x5>:<suffix>`. */
export function checkId(label: CaseLabel, suffix: string): string {
  const shape = label.shape.length === 0 ? 'scalar' : label.shape.join('x');
  return `${label.plugin}:${label.mode}:o${label.optionsIndex}:${shape}:${suffix}`;
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
    const message =
      outcome.error ??
      (t.failures > 0
        ? `${t.failures} of ${t.compared} values out of tolerance, at the default step and under refinement; compared ${outcome.summary}`
        : `${t.compared} values within tolerance${refined}: ${outcome.summary}`);
    this.checks.push({
      ...label,
      shape: label.shape.slice(),
      id: checkId(label, tensorName),
      tensor: tensorName,
      method,
      ok: status === 'pass',
      status,
      compared: t.compared,
      failures: t.failures,
      maxAbsErr: status === 'error' ? Number.NaN : t.maxAbsErr,
      maxRelErr: status === 'error' ? Number.NaN : t.maxRelErr,
      worst: t.worst(),
      message,
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
      message,
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
      message: outcome.message,
    });
  }

  /** Something threw before the gradients could be compared: every tensor of the case errors. */
  setupFailure(label: CaseLabel, tensors: readonly string[], method: TensorCheck['method'], message: string): void {
    for (const name of tensors) this.erroredTensor(label, name, method, message);
    this.contract(label, { name: 'setup', status: 'error', message });
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

function runCase(
  builder: ReportBuilder,
  bound: AnyBound,
  settings: Settings,
  label: CaseLabel,
  x: Tensor,
  params: TensorRecord,
  state: TensorRecord,
): void {
  const tensorNames = ['x', ...Object.keys(params)];
  const guessMethod = sizeOf(x.shape) <= settings.fullJacobianMaxSize ? 'full-jacobian' : 'projection';
  const before = { x: snapshot({ x }).get('x')!, params: snapshot(params), state: snapshot(state) };
  const caseSeed = deriveSeed(settings.seed, label.optionsIndex, label.shape.join('x'), label.mode);

  let problem: Problem;
  try {
    problem = new Problem(bound, label.mode, x, params, state);
  } catch (e) {
    builder.setupFailure(label, tensorNames, guessMethod, `forward threw at the checked point: ${errorMessage(e)}`);
    builder.contract(label, checkForwardPurity(before, { x, params, state }));
    return;
  }
  const r = randomValues(problem.ySize, normalRng(deriveSeed(caseSeed, 'r')));
  const full = sizeOf(x.shape) <= settings.fullJacobianMaxSize && problem.ySize <= settings.fullJacobianMaxSize;
  const method = full ? 'full-jacobian' : 'projection';
  const compare = { tolerance: { rtol: settings.rtol, atol: settings.atol }, keep: settings.worst, richardson: settings.richardson };
  const outcomes = full
    ? checkFullJacobian(problem, r, compare)
    : checkProjections(problem, r, { ...compare, projections: settings.projections, subsetSize: settings.subsetSize, seed: deriveSeed(caseSeed, 'projection') });
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
  builder.contract(label, checkForwardPurity(before, { x, params, state }));
}

/**
 * Checks a plugin's hand-written `backward` against finite differences of its `forward`,
 * in float64, and checks the rest of its contract.
 *
 * For each option set (default `plugin.exampleOptions`), each shape (default
 * `create(options).exampleShapes()`) and each mode (default `plugin.modes`):
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
 * - contract checks: forward and backward purity (bitwise), forward and backward
 *   determinism (bitwise), zero dy ⇒ zero gradients, linearity in dy, shapes and dtypes
 *   (float64 and float32), and every invariant the plugin declares. Linearity and the
 *   invariants have absolute floors scaled to the magnitude of the computation
 *   ({@link LINEARITY_ATOL}, {@link INVARIANT_ATOL}), so gradients or sums that are zero in
 *   exact arithmetic and computed as rounding noise pass.
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
  const settings: Settings = {
    seed: nonNegativeInteger(config.seed, 0, 'seed'),
    rtol: nonNegativeNumber(config.rtol, DEFAULT_RTOL, 'rtol'),
    atol: nonNegativeNumber(config.atol, DEFAULT_ATOL, 'atol'),
    richardson: config.richardson === true,
    fullJacobianMaxSize: nonNegativeInteger(config.fullJacobianMaxSize, DEFAULT_FULL_JACOBIAN_MAX_SIZE, 'fullJacobianMaxSize'),
    projections: nonNegativeInteger(config.projections, DEFAULT_PROJECTIONS, 'projections'),
    subsetSize: nonNegativeInteger(config.subsetSize, DEFAULT_SUBSET_SIZE, 'subsetSize'),
    worst: nonNegativeInteger(config.worst, DEFAULT_WORST, 'worst'),
  };
  const optionSets: readonly object[] =
    config.options === undefined ? p.exampleOptions : Array.isArray(config.options) ? (config.options as readonly object[]) : [config.options as object];
  const modes = config.modes ?? p.modes;
  if (!Array.isArray(modes) || modes.some((m) => m !== 'train' && m !== 'eval')) {
    throw new NormkitError('E_OPTION', `gradcheck config.modes: expected a list of 'train' | 'eval', got ${optionsLabel(modes)}`, 'config.modes');
  }
  const builder = new ReportBuilder();
  const name = p.meta.name;

  optionSets.forEach((input, optionsIndex) => {
    const labelOf = (mode: Mode, shape: Shape): CaseLabel => ({ plugin: name, optionsIndex, options: optionsLabel(input), mode, shape: shape.slice() });
    let bound: AnyBound;
    let shapes: readonly Shape[];
    try {
      bound = p.create(input);
      shapes = config.shapes === undefined ? bound.exampleShapes() : typeof config.shapes === 'function' ? config.shapes(bound.options as T['Options']) : config.shapes;
    } catch (e) {
      for (const mode of modes) builder.setupFailure(labelOf(mode, []), ['x'], 'full-jacobian', `options or shapes rejected: ${errorMessage(e)}`);
      return;
    }
    const paramNames = paramNamesOf(bound);
    shapes.forEach((shape) => {
      const shapeKey = shape.join('x');
      let x: Tensor;
      let params: TensorRecord;
      let state: TensorRecord;
      try {
        x = randomNormalTensor(shape, deriveSeed(settings.seed, 'x', optionsIndex, shapeKey));
        const init = bound.init('float64');
        params = withNoise(presentTensors(init.params), deriveSeed(settings.seed, 'params', optionsIndex, shapeKey));
        state = presentTensors(init.state);
        if (p.modes.includes('train')) {
          const burnIn = randomNormalTensor(shape, deriveSeed(settings.seed, 'burn-in', optionsIndex, shapeKey));
          state = presentTensors(bound.forward({ x: burnIn, params, state, mode: 'train' }).state);
        }
      } catch (e) {
        const method = sizeOf(shape) <= settings.fullJacobianMaxSize ? 'full-jacobian' : 'projection';
        for (const mode of modes) {
          builder.setupFailure(labelOf(mode, shape), ['x', ...paramNames], method, `init or the burn-in forward threw: ${errorMessage(e)}`);
        }
        return;
      }
      for (const mode of modes) runCase(builder, bound, settings, labelOf(mode, shape), x, params, state);
    });
  });

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
export { ReportBuilder, nonNegativeInteger, nonNegativeNumber, paramNamesOf, stateInDtypeOf, toFloat32, withNoise };
export type { Settings };
