import { dtypeOf, formatShape, isTensor, shapesEqual, sizeOf, tensor, toTypedArray, unravel } from '@normkit/core';
import type { Dtype, FloatArray, Invariant, Tensor } from '@normkit/core';
import { errorMessage } from './jacobian.js';
import type { Problem, TensorRecord } from './problem.js';
import { presentTensors } from './problem.js';
import type { CheckStatus, ContractName } from './report.js';
import { savedChanges, snapshotSaved } from './saved-snapshot.js';

/** The result of one contract check, before it is labelled with its case. */
export interface ContractOutcome {
  /** Which property. */
  readonly name: ContractName;
  /** For invariants, the kind (`'zero-sum'`, `'orthogonal-to-input'`). */
  readonly detail?: string;
  /** Pass, fail or error. */
  readonly status: CheckStatus;
  /** What was checked or what broke. */
  readonly message: string;
}

/**
 * The scalings `backward(α·dy) = α·backward(dy)` is checked with: a non-trivial positive
 * and a negative one (a backward that uses |dy| or dy² fails the second).
 */
export const LINEARITY_ALPHAS: readonly number[] = [2.5, -0.75];

/**
 * Relative tolerance of the linearity check: |b(α·dy) − α·b(dy)| ≤ 1e-9·max|α·b(dy)|
 * per tensor, plus the floor {@link LINEARITY_ATOL}. Rounding alone gives ~1e-15 of the
 * tensor; anything nonlinear gives O(1).
 */
export const LINEARITY_RTOL = 1e-9;

/**
 * Absolute floor of the linearity check, times the scale of the whole computation,
 * S = max(1, max|α·dy|, and max|α·b(dy)| and max|b(α·dy)| over every gradient).
 *
 * The relative bound alone fails when a gradient is zero in exact arithmetic (weight norm
 * with one element per slice: dv ≡ 0): the computed values are rounding noise of terms as
 * large as the other gradients, and 1e-9 of the noise itself is below the noise. That noise
 * is a few ulps of S times the plugin's internal amplification, which the checker cannot
 * see (for weight norm g/‖v‖; measured up to ~3e3 ulps of S over 3000 seeds, growing as
 * 1/‖v‖). 1e-9·S ≈ 4.5e6 ulps of S leaves a margin of 1000× over that. A nonlinear backward
 * (|dy|, dy², a dy-dependent branch) is off by O(1) of its own gradient, so it is missed only
 * when that whole gradient is below 1e-9 of S, a thousand times finer than what the
 * gradient comparisons resolve (atol = 1e-6 of their scale).
 */
export const LINEARITY_ATOL = 1e-9;

/**
 * Relative tolerance of the invariant checks: per group |Σ t| ≤ 1e-8·Σ|t|, where t is
 * dx (zero-sum) or dx⊙x (orthogonal-to-input), plus the floor {@link INVARIANT_ATOL}.
 * Rounding alone gives ~1e-14 of Σ|t| when the terms are not themselves rounding noise.
 */
export const INVARIANT_RTOL = 1e-8;

/**
 * Absolute floor of the invariant checks, per group: |Σ t| ≤ INVARIANT_RTOL·Σ|t| +
 * 1e-10·n·S, with n the group size and S the magnitude of the computation,
 * max(1, max|dy|)·max(1, max|p|) over all parameters p, times max(1, max|x|) for
 * `'orthogonal-to-input'` (whose terms are dx⊙x).
 *
 * Why a floor: each dx element is computed from terms of size |dy|·|p| times the plugin's
 * internal scale (1/σ for batch or layer norm), which can cancel to nearly nothing. With 2
 * values per group, batch and layer norm give dx ≡ 0 up to eps/σ²: Σ|dx| is ~1e-8 while the
 * rounding of each dx is ~1e-16, and 1e-8·Σ|dx| is below it. Rounding of n such elements is
 * at most a few ulps of n·S times the internal scale, which is ≤ 1/√eps; measured up to
 * ~1e4 ulps of n·S over 3000 seeds at eps = 1e-5. 1e-10·n·S ≈ 4.5e5 ulps of n·S covers
 * that 45 times over (and internal scales up to ~1e4, i.e. eps down to ~1e-8).
 *
 * What it still catches: a real violation sums O(1) of the gradient over the group (batch
 * norm without its mean term: Σ dx = Σ dy·γ/σ; weight norm without its projection:
 * Σ dv⊙v = g·⟨dy, v⟩/‖v‖), some 1e9 times above the floor for typical values.
 */
export const INVARIANT_ATOL = 1e-10;

/** Runs a check, turning anything it throws into an `'error'` outcome. */
export function guarded(name: ContractName, run: () => ContractOutcome, detail?: string): ContractOutcome {
  try {
    return run();
  } catch (e) {
    return { name, ...(detail === undefined ? {} : { detail }), status: 'error', message: `threw: ${errorMessage(e)}` };
  }
}

function pass(name: ContractName, message: string, detail?: string): ContractOutcome {
  return { name, ...(detail === undefined ? {} : { detail }), status: 'pass', message };
}

function fail(name: ContractName, message: string, detail?: string): ContractOutcome {
  return { name, ...(detail === undefined ? {} : { detail }), status: 'fail', message };
}

/** A copy of a tensor's values, shape, strides and offset, for a byte comparison later. */
export interface TensorSnapshot {
  readonly values: FloatArray;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset: number;
}

/** Snapshots of every tensor of a record. */
export function snapshot(record: TensorRecord): Map<string, TensorSnapshot> {
  const out = new Map<string, TensorSnapshot>();
  for (const [name, t] of Object.entries(record)) {
    out.set(name, { values: toTypedArray(t), shape: t.shape.slice(), stride: t.stride.slice(), offset: t.offset });
  }
  return out;
}

function bytes(values: FloatArray): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** The first row-major position where two typed arrays differ bitwise, or −1 (−2 when types or lengths differ). */
export function firstBitDifference(a: FloatArray, b: FloatArray): number {
  if (a.constructor !== b.constructor || a.length !== b.length) return -2;
  const ba = bytes(a);
  const bb = bytes(b);
  const width = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < ba.length; i++) if (ba[i] !== bb[i]) return Math.floor(i / width);
  return -1;
}

/**
 * What changed in `record` since `before`, one sentence per changed tensor (values compared
 * bytewise, plus shape, strides and offset); empty when nothing did.
 *
 * @param prefix - e.g. `"params"`, for the messages
 */
export function changesSince(before: Map<string, TensorSnapshot>, record: TensorRecord, prefix: string): string[] {
  const changes: string[] = [];
  for (const [name, snap] of before) {
    const t = record[name];
    const label = `${prefix}.${name}`;
    if (t === undefined) {
      changes.push(`${label} was removed`);
      continue;
    }
    if (!shapesEqual(t.shape, snap.shape) || !shapesEqual(t.stride, snap.stride) || t.offset !== snap.offset) {
      changes.push(`${label}: its shape, strides or offset changed`);
      continue;
    }
    const now = toTypedArray(t);
    const at = firstBitDifference(snap.values, now);
    if (at === -2) changes.push(`${label}: its dtype changed`);
    else if (at >= 0) {
      const index = unravel(at, snap.shape);
      changes.push(`${label}[${index.join(', ')}] changed from ${snap.values[at]} to ${now[at]}`);
    }
  }
  return changes;
}

/**
 * Forward purity: `x`, `params` and `state` are bitwise what they were before any forward
 * call of the check (all the calls at perturbed points included).
 */
export function checkForwardPurity(
  before: { x: TensorSnapshot; params: Map<string, TensorSnapshot>; state: Map<string, TensorSnapshot> },
  now: { x: Tensor; params: TensorRecord; state: TensorRecord },
): ContractOutcome {
  const changes = [
    ...changesSince(new Map([['x', before.x]]), { x: now.x }, 'input'),
    ...changesSince(before.params, now.params, 'params'),
    ...changesSince(before.state, now.state, 'state'),
  ].map((c) => c.replace(/^input\.x/, 'x'));
  if (changes.length > 0) return fail('forward-purity', `forward mutated its arguments: ${changes.join('; ')}`);
  return pass('forward-purity', 'x, params and state unchanged by every forward call');
}

/**
 * Backward purity: `dy`, `params` and `saved` bitwise unchanged by a backward call (`saved`
 * leaf by leaf: every tensor, typed array and primitive it holds, see {@link snapshotSaved}),
 * for the `saved` of a fresh forward call, so that the first backward call on it is watched.
 */
export function checkBackwardPurity(problem: Problem, r: Float64Array): ContractOutcome {
  return guarded('backward-purity', () => {
    const dy = tensor(r.slice(), problem.yShape);
    const { saved } = problem.normalizer.forward({ x: problem.x, params: problem.params, state: problem.state, mode: problem.mode });
    const beforeDy = snapshot({ dy });
    const beforeParams = snapshot(problem.params);
    const beforeSaved = snapshotSaved(saved);
    problem.normalizer.backward({ dy, params: problem.params, saved });
    const changes = [
      ...changesSince(beforeDy, { dy }, 'backward').map((c) => c.replace(/^backward\./, '')),
      ...changesSince(beforeParams, problem.params, 'params'),
      ...savedChanges(beforeSaved, saved),
    ];
    if (changes.length > 0) return fail('backward-purity', `backward mutated its arguments: ${changes.join('; ')}`);
    return pass('backward-purity', 'dy, params and saved unchanged by backward');
  });
}

function gradientLabel(problem: Problem, k: number): string {
  return k === 0 ? 'dx' : `grads.${problem.slots[k].name}`;
}

/** Zero dy gives zero gradients: every element of dx and of each parameter gradient is exactly ±0. */
export function checkZeroDy(problem: Problem): ContractOutcome {
  return guarded('zero-dy', () => {
    const grads = problem.vjp(new Float64Array(problem.ySize));
    for (let k = 0; k < grads.length; k++) {
      const g = grads[k];
      for (let j = 0; j < g.length; j++) {
        if (g[j] !== 0) {
          const index = unravel(j, problem.slots[k].shape);
          return fail('zero-dy', `${gradientLabel(problem, k)}[${index.join(', ')}] = ${g[j]} with dy = 0 (backward not multiplied by dy?)`);
        }
      }
    }
    return pass('zero-dy', 'dy = 0 gives dx = 0 and zero parameter gradients');
  });
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Linearity in dy: backward(α·dy) = α·backward(dy) for α in {@link LINEARITY_ALPHAS},
 * within {@link LINEARITY_RTOL} of each gradient's largest value plus
 * {@link LINEARITY_ATOL} of the largest value of the whole computation (so a gradient that
 * is zero in exact arithmetic, computed as rounding noise, passes).
 */
export function checkLinearity(problem: Problem, r: Float64Array): ContractOutcome {
  return guarded('linearity', () => {
    const base = problem.vjp(r);
    for (const alpha of LINEARITY_ALPHAS) {
      const scaled = problem.vjp(r.map((v) => alpha * v));
      const scales = base.map((b, k) => Math.max(Math.abs(alpha) * maxAbs(b), maxAbs(scaled[k])));
      const floor = LINEARITY_ATOL * Math.max(1, Math.abs(alpha) * maxAbs(r), ...scales);
      for (let k = 0; k < base.length; k++) {
        const bound = LINEARITY_RTOL * scales[k] + floor;
        for (let j = 0; j < base[k].length; j++) {
          const expected = alpha * base[k][j];
          if (!(Math.abs(scaled[k][j] - expected) <= bound)) {
            const index = unravel(j, problem.slots[k].shape);
            return fail(
              'linearity',
              `${gradientLabel(problem, k)}[${index.join(', ')}]: backward(${alpha}·dy) = ${scaled[k][j]}, but ${alpha}·backward(dy) = ${expected}`,
            );
          }
        }
      }
    }
    return pass('linearity', `backward(α·dy) = α·backward(dy) for α = ${LINEARITY_ALPHAS.join(', ')}`);
  });
}

/** Backward determinism: two backward calls with the same dy give bitwise identical gradients. */
export function checkBackwardDeterminism(problem: Problem, r: Float64Array): ContractOutcome {
  return guarded('backward-determinism', () => {
    const first = problem.vjp(r);
    const second = problem.vjp(r);
    for (let k = 0; k < first.length; k++) {
      const at = firstBitDifference(first[k], second[k]);
      if (at !== -1) {
        const index = at >= 0 ? unravel(at, problem.slots[k].shape) : [];
        return fail(
          'backward-determinism',
          `${gradientLabel(problem, k)}[${index.join(', ')}] differs between two backward calls with the same dy: ${first[k][at]} then ${second[k][at]}`,
        );
      }
    }
    return pass('backward-determinism', 'two backward calls gave bitwise identical gradients');
  });
}

/** Forward determinism: forward again at the same point gives a bitwise identical y (finite differences rely on it). */
export function checkForwardDeterminism(problem: Problem): ContractOutcome {
  return guarded('forward-determinism', () => {
    const again = problem.output(0, problem.slots[0].values.slice());
    const at = firstBitDifference(problem.y, again);
    if (at !== -1) {
      const index = at >= 0 ? unravel(at, problem.yShape) : [];
      return fail('forward-determinism', `y[${index.join(', ')}] differs between two forward calls: ${problem.y[at]} then ${again[at]}`);
    }
    return pass('forward-determinism', 'two forward calls gave bitwise identical y');
  });
}

function describeTensorMismatch(value: unknown, label: string, shape: readonly number[], dtype: Dtype): string | null {
  if (!isTensor(value)) return `${label} is not a float tensor`;
  if (!shapesEqual(value.shape, shape)) return `${label} has shape ${formatShape(value.shape)}, expected ${formatShape(shape)}`;
  if (dtypeOf(value) !== dtype) return `${label} is ${dtypeOf(value)}, expected ${dtype}`;
  return null;
}

/**
 * Problems with the shapes and dtypes of one forward/backward pair: y has x's dtype; dx has
 * x's shape and dtype; every parameter has a gradient of its shape and dtype and there are
 * no gradients for parameters that are absent.
 */
export function shapeDtypeProblems(
  x: Tensor,
  params: TensorRecord,
  y: unknown,
  result: { dx: unknown; grads: object },
  dtype: Dtype,
): string[] {
  const problems: string[] = [];
  if (!isTensor(y)) problems.push('y is not a float tensor');
  else if (dtypeOf(y) !== dtype) problems.push(`y is ${dtypeOf(y)}, expected ${dtype} like x`);
  const dx = describeTensorMismatch(result.dx, 'dx', x.shape, dtype);
  if (dx !== null) problems.push(dx);
  const grads = presentTensors(result.grads ?? {});
  for (const [name, p] of Object.entries(params)) {
    if (grads[name] === undefined) {
      problems.push(`grads.${name} is missing`);
      continue;
    }
    const m = describeTensorMismatch(grads[name], `grads.${name}`, p.shape, dtype);
    if (m !== null) problems.push(m);
  }
  for (const name of Object.keys(grads)) if (params[name] === undefined) problems.push(`grads.${name} is given but there is no parameter ${name}`);
  return problems;
}

/**
 * Shapes and dtypes: gradients have the shapes and dtypes of what they differentiate, in
 * float64 (the checked point) and in float32 (the same point rounded, via `float32`).
 *
 * @param float32 - runs forward and backward at the float32 version of the point
 */
export function checkShapesDtypes(
  problem: Problem,
  r: Float64Array,
  float32: () => { x: Tensor; params: TensorRecord; y: Tensor; result: { dx: unknown; grads: object } },
): ContractOutcome {
  return guarded('shapes-dtypes', () => {
    const result = problem.backwardRaw(tensor(r.slice(), problem.yShape));
    const problems = shapeDtypeProblems(problem.x, problem.params, problem.yTensor, result, 'float64').map((m) => `float64: ${m}`);
    let run32;
    try {
      run32 = float32();
    } catch (e) {
      problems.push(`float32: forward or backward threw: ${errorMessage(e)}`);
    }
    if (run32 !== undefined) problems.push(...shapeDtypeProblems(run32.x, run32.params, run32.y, run32.result, 'float32').map((m) => `float32: ${m}`));
    if (problems.length > 0) return fail('shapes-dtypes', problems.join('; '));
    return pass('shapes-dtypes', 'y, dx and every parameter gradient have the right shapes and dtypes in float64 and float32');
  });
}

/**
 * A declared invariant, with dx = backward(dy = r): per group (an index of the axes not in
 * `reduceAxes`), Σ dx = 0 (`'zero-sum'`) or Σ dx⊙x = 0 (`'orthogonal-to-input'`) over
 * `reduceAxes`, within {@link INVARIANT_RTOL}·Σ|terms| plus the floor
 * {@link INVARIANT_ATOL}·n·S (n the group size, S the magnitude of dy, the parameters and,
 * for `'orthogonal-to-input'`, x).
 */
export function checkInvariant(problem: Problem, r: Float64Array, invariant: Invariant): ContractOutcome {
  const kind = String(invariant?.kind);
  return guarded(
    'invariant',
    () => {
      if (kind !== 'zero-sum' && kind !== 'orthogonal-to-input') return fail('invariant', `unknown invariant kind ${JSON.stringify(kind)}`, kind);
      // x and dx are flat and row-major, so splitting an axis only changes the shape they are read with.
      const xShape = problem.slots[0].shape;
      const split = invariant.split;
      let shape: readonly number[] = xShape;
      if (split !== undefined) {
        const sizes = split.sizes;
        const valid =
          Number.isInteger(split.axis) && split.axis >= 0 && split.axis < xShape.length && Array.isArray(sizes) &&
          sizes.every((d) => Number.isInteger(d) && d > 0) && sizeOf(sizes) === xShape[split.axis];
        if (!valid) return fail('invariant', `split ${JSON.stringify(split)} does not split an axis of x (shape [${xShape.join(', ')}])`, kind);
        shape = [...xShape.slice(0, split.axis), ...sizes, ...xShape.slice(split.axis + 1)];
      }
      const rank = shape.length;
      const axes = invariant.reduceAxes;
      if (!Array.isArray(axes) || axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
        return fail('invariant', `reduceAxes ${JSON.stringify(axes)} are not distinct axes of x (rank ${rank})`, kind);
      }
      const dx = problem.vjp(r)[0];
      const x = problem.slots[0].values;
      const groupAxes = shape.map((_, k) => k).filter((k) => !axes.includes(k));
      const groupShape = groupAxes.map((k) => shape[k]);
      const groups = sizeOf(groupShape);
      const sums = new Float64Array(groups);
      const absSums = new Float64Array(groups);
      const size = sizeOf(shape);
      for (let flat = 0; flat < size; flat++) {
        const index = unravel(flat, shape);
        let g = 0;
        for (const k of groupAxes) g = g * shape[k] + index[k];
        const term = kind === 'zero-sum' ? dx[flat] : dx[flat] * x[flat];
        sums[g] += term;
        absSums[g] += Math.abs(term);
      }
      const what = kind === 'zero-sum' ? 'Σ dx' : 'Σ dx⊙x';
      let paramMax = 1;
      for (const s of problem.slots.slice(1)) paramMax = Math.max(paramMax, maxAbs(s.values));
      let magnitude = Math.max(1, maxAbs(r)) * paramMax;
      if (kind === 'orthogonal-to-input') magnitude *= Math.max(1, maxAbs(x));
      const floor = INVARIANT_ATOL * (size / Math.max(1, groups)) * magnitude;
      for (let g = 0; g < groups; g++) {
        if (!(Math.abs(sums[g]) <= INVARIANT_RTOL * absSums[g] + floor)) {
          return fail(
            'invariant',
            `${kind}: ${what} over axes [${axes.join(', ')}] is ${sums[g]} for group [${unravel(g, groupShape).join(', ')}] (Σ|terms| = ${absSums[g]}, bound ${INVARIANT_RTOL * absSums[g] + floor})`,
            kind,
          );
        }
      }
      return pass('invariant', `${kind}: ${what} = 0 over axes [${axes.join(', ')}] in all ${groups} groups`, kind);
    },
    kind,
  );
}
