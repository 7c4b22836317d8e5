import { isTensor, sizeOf, tensor, toContiguous, toTypedArray } from '@normkit/core';
import type { MovingAverageUpdate, StateUpdate, Tensor } from '@normkit/core';
import { indexText, magnitude } from './compare.js';
import type { ContractOutcome } from './contract-checks.js';
import { errorMessage } from './jacobian.js';
import type { CheckPoint } from './point.js';
import type { TensorRecord } from './problem.js';
import { asFloat64, presentTensors } from './problem.js';

/**
 * Relative tolerance of the state-update check: the next state forward returns must equal
 * the declared one (computed by the checker in float64, two-pass) within
 * 1e-10·|e| + {@link STATE_ATOL}·max(1, max|e|) per entry. Statistics computed in another
 * order differ by ~1e-15 relative; the mistakes this catches are far larger: the biased
 * variance for the unbiased one is off by a factor (m − 1)/m on the batch term (≥ 1e-4·f
 * relative for any batch of up to 10⁴ values), momentum the wrong way round by O(1).
 * Counters must match exactly.
 */
export const STATE_RTOL = 1e-10;

/** Absolute tolerance of the state-update check, times max(1, max|e|) over the entry. */
export const STATE_ATOL = 1e-10;

function normalizeDeclaredAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) throw new Error(`${what} ${axis} is not an axis of a rank-${rank} input`);
  return a;
}

/** A short description of a declaration, for messages. */
export function describeStateUpdate(update: StateUpdate): string {
  if (update.kind === 'reference') return 'the plugin\'s reference state update';
  const stats = Object.entries(update.statistics)
    .map(([name, s]) => `${name} ← ${s}`)
    .join(', ');
  const f = update.momentum === null ? 'f = 1/t' : `momentum ${update.momentum}`;
  const averaged = update.averagedAxes === undefined || update.averagedAxes.length === 0 ? '' : `, averaged over axes [${update.averagedAxes.join(', ')}]`;
  return `moving average (${f}) over channel axis ${update.channelAxis}${averaged}: ${stats}`;
}

/**
 * The batch statistics a {@link MovingAverageUpdate} names, per channel, computed plainly:
 * per (channel, index of the averaged axes), the two-pass mean and sum of squared deviations
 * over the pooled axes, in float64; then each statistic averaged over the averaged axes.
 *
 * @returns per channel, the mean, the biased and the unbiased variance
 */
function channelStatistics(update: MovingAverageUpdate, x: Tensor): { mean: Float64Array; variance: Float64Array; unbiased: Float64Array } {
  const shape = x.shape;
  const rank = shape.length;
  const channelAxis = normalizeDeclaredAxis(update.channelAxis, rank, 'channelAxis');
  const averaged = (update.averagedAxes ?? []).map((a) => normalizeDeclaredAxis(a, rank, 'averagedAxes:'));
  if (averaged.includes(channelAxis) || new Set(averaged).size !== averaged.length) {
    throw new Error(`averagedAxes [${(update.averagedAxes ?? []).join(', ')}] must be distinct axes other than the channel axis`);
  }
  const channels = shape[channelAxis];
  let replicas = 1;
  for (const a of averaged) replicas *= shape[a];
  const groups = channels * replicas;
  const count = sizeOf(shape) / groups;
  // Group of each position: channel·replicas + (row-major index over the averaged axes).
  const groupStride = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let j = averaged.length - 1; j >= 0; j--) {
    groupStride[averaged[j]] = stride;
    stride *= shape[averaged[j]];
  }
  groupStride[channelAxis] = replicas;
  const values = asFloat64(toTypedArray(x));
  const groupOf = new Int32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < values.length; i++) {
    let g = 0;
    for (let k = 0; k < rank; k++) g += index[k] * groupStride[k];
    groupOf[i] = g;
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  const sums = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) sums[groupOf[i]] += values[i];
  const means = sums.map((s) => s / count);
  const squares = new Float64Array(groups);
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - means[groupOf[i]];
    squares[groupOf[i]] += d * d;
  }
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const unbiased = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    for (let r = 0; r < replicas; r++) {
      const g = c * replicas + r;
      mean[c] += means[g] / replicas;
      variance[c] += squares[g] / count / replicas;
      unbiased[c] += squares[g] / (count - 1) / replicas;
    }
  }
  return { mean, variance, unbiased };
}

/**
 * The next state a {@link StateUpdate} declares for a train-mode call on `x` from `state`,
 * in float64: for a moving average, the checker's own statistics of `x` and the rule
 * r ← (1 − f)·r + f·b; for a reference, the plugin's reference function. Usable outside the
 * checker, e.g. to run a declaration over the PyTorch vectors' multi-step cases.
 *
 * @param update - the declaration
 * @param x - the input (any dtype and layout)
 * @param state - the state before the call
 * @returns every state entry after the call, float64
 * @throws Error when the declaration does not fit the input or the state (an axis out of
 *   range, a named entry that is missing or has another length than the channels, no counter
 *   for a cumulative average)
 */
export function declaredNextState(update: StateUpdate, x: Tensor, state: TensorRecord): TensorRecord {
  const wide = (t: Tensor): Tensor => toContiguous(t, 'float64');
  const before: TensorRecord = {};
  for (const [name, t] of Object.entries(state)) before[name] = wide(t);
  if (update.kind === 'reference') {
    if (typeof update.next !== 'function') throw new Error('a reference update has no next(x, state) function');
    return presentTensors(update.next(wide(x), before));
  }
  if (update.kind !== 'moving-average') throw new Error(`unknown state update kind ${JSON.stringify((update as { kind: unknown }).kind)}`);
  const { mean, variance, unbiased } = channelStatistics(update, x);
  const next: TensorRecord = { ...before };
  let steps = Number.NaN;
  if (update.counter !== undefined) {
    const counter = before[update.counter];
    if (counter === undefined || sizeOf(counter.shape) !== 1) throw new Error(`the counter state.${update.counter} is not a one-element state entry`);
    steps = counter.data[counter.offset] + (update.countsSteps === false ? 0 : 1);
    next[update.counter] = tensor(Float64Array.of(steps), counter.shape.slice());
  } else if (update.momentum === null) {
    throw new Error('a cumulative average (momentum null) needs a counter');
  }
  const f = update.momentum === null ? 1 / steps : update.momentum;
  for (const [name, statistic] of Object.entries(update.statistics)) {
    const old = before[name];
    if (old === undefined || sizeOf(old.shape) !== mean.length) {
      throw new Error(`state.${name} is not a state entry with one value per channel (${mean.length})`);
    }
    const b = statistic === 'mean' ? mean : statistic === 'variance' ? variance : statistic === 'unbiased-variance' ? unbiased : null;
    if (b === null) throw new Error(`unknown batch statistic ${JSON.stringify(statistic)} for state.${name}`);
    const values = old.data as Float64Array;
    next[name] = tensor(
      values.map((r, c) => (1 - f) * r + f * b[c]),
      old.shape.slice(),
    );
  }
  return next;
}

/**
 * The state-update check of a case, for a plugin that declares {@link StateUpdate}: in
 * train mode the next state forward returns equals the declared one (float64, within
 * {@link STATE_RTOL} / {@link STATE_ATOL}; counters exactly), entry by entry; in eval mode it
 * equals the state handed in, bitwise.
 *
 * @param point - the point of the case (float64)
 * @param update - the declaration for this input shape
 */
export function checkStateUpdate(point: CheckPoint, update: StateUpdate): ContractOutcome {
  const name = 'state-update';
  const what = describeStateUpdate(update);
  const next = nextStateOf(point);
  if (typeof next === 'string') return { name, status: 'error', message: next };
  let expected: TensorRecord;
  if (point.mode === 'eval') expected = point.state;
  else {
    try {
      expected = declaredNextState(update, point.x, point.state);
    } catch (e) {
      return { name, status: 'error', message: `the declaration (${what}) cannot be evaluated here: ${errorMessage(e)}` };
    }
  }
  const problems = stateProblems(point, next, expected);
  if (problems.length > 0) return { name, status: 'fail', message: `${problems.join('; ')} (declared: ${what})` };
  return {
    name,
    status: 'pass',
    message: point.mode === 'eval' ? 'eval returned the state unchanged' : `the next state is the declared one (${what})`,
  };
}

/**
 * The eval-mode state check of a case whose plugin has state but declares no state update
 * (no `stateUpdate`, or `null` for this shape): an eval-mode forward returns the state handed
 * in, every entry bitwise, and no other entry. That is the contract with or without a
 * declaration (PyTorch's eval never touches the running statistics, and a `Layer` adopts
 * whatever state forward returns); only the train-mode update needs the declaration. The
 * checker runs it only for an eval mode of the plugin's own: eval listed in `plugin.modes`,
 * and no `modeIndependent` claim (which makes eval's state train's).
 *
 * @param point - the point of the case (float64, eval mode, non-empty state)
 */
export function checkEvalState(point: CheckPoint): ContractOutcome {
  const name = 'eval-state';
  const next = nextStateOf(point);
  if (typeof next === 'string') return { name, status: 'error', message: next };
  const problems = stateProblems(point, next, point.state);
  if (problems.length > 0) return { name, status: 'fail', message: `${problems.join('; ')} (no state update declared)` };
  return { name, status: 'pass', message: 'eval returned the state unchanged (no state update declared)' };
}

/** The state a forward at the point returns, or why it could not be had. */
function nextStateOf(point: CheckPoint): TensorRecord | string {
  try {
    return presentTensors(point.bound.forward({ x: point.x, params: point.params, state: point.state, mode: point.mode }).state ?? {});
  } catch (e) {
    return `forward threw: ${errorMessage(e)}`;
  }
}

/**
 * How the returned state `next` differs from `expected`, one line per entry: bitwise in eval
 * mode and for counters, within {@link STATE_RTOL} / {@link STATE_ATOL} otherwise.
 */
function stateProblems(point: CheckPoint, next: TensorRecord, expected: TensorRecord): string[] {
  const problems: string[] = [];
  for (const [entry, e] of Object.entries(expected)) {
    const got = next[entry];
    if (!isTensor(got)) {
      problems.push(`state.${entry} is missing from the next state`);
      continue;
    }
    const a = asFloat64(toTypedArray(got));
    const b = asFloat64(toTypedArray(e));
    if (a.length !== b.length) {
      problems.push(`state.${entry} has ${a.length} values, expected ${b.length}`);
      continue;
    }
    const exact = point.mode === 'eval' || point.counters.has(entry);
    const scale = magnitude(b);
    for (let i = 0; i < b.length; i++) {
      const ok = exact ? Object.is(a[i], b[i]) || a[i] === b[i] : Math.abs(a[i] - b[i]) <= STATE_RTOL * Math.abs(b[i]) + STATE_ATOL * scale;
      if (!ok) {
        const expectedText = point.mode === 'eval' ? `expected ${b[i]} (eval returns the state handed in)` : `declared ${b[i]}`;
        problems.push(`state.${entry}${indexText(i, e.shape)} is ${a[i]}, ${expectedText}`);
        break;
      }
    }
  }
  for (const entry of Object.keys(next)) if (expected[entry] === undefined) problems.push(`state.${entry} is returned but not part of the state`);
  return problems;
}
