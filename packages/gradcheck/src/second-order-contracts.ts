import { dtypeOf, formatShape, isTensor, shapesEqual, tensor, toTypedArray, unravel } from '@normkit/core';
import type { Dtype, Tensor } from '@normkit/core';
import type { ContractOutcome } from './contract-checks.js';
import { LINEARITY_ALPHAS, LINEARITY_ATOL, LINEARITY_RTOL, changesSince, firstBitDifference, guarded, snapshot } from './contract-checks.js';
import { FLOAT32_ATOL, FLOAT32_RTOL } from './float32-check.js';
import { errorMessage } from './jacobian.js';
import type { TensorRecord } from './problem.js';
import { savedChanges, snapshotSaved } from './saved-snapshot.js';
import type { DoubleBackwardOutcome, SecondOrderProblem } from './second-order-problem.js';

function pass(name: ContractOutcome['name'], message: string): ContractOutcome {
  return { name, status: 'pass', message };
}

function fail(name: ContractOutcome['name'], message: string): ContractOutcome {
  return { name, status: 'fail', message };
}

function resultLabel(problem: SecondOrderProblem, k: number): string {
  if (k === 0) return 'dx';
  if (k === problem.slots.length - 1) return 'ddy';
  return `grads.${problem.slots[k].name}`;
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/** Determinism: two `doubleBackward` calls with the same arguments give bitwise identical results. */
export function checkDoubleBackwardDeterminism(problem: SecondOrderProblem, c: Float64Array): ContractOutcome {
  const name = 'double-backward-determinism';
  return guarded(name, () => {
    const first = problem.vjp(c);
    const second = problem.vjp(c);
    for (let k = 0; k < first.length; k++) {
      const at = firstBitDifference(first[k], second[k]);
      if (at !== -1) {
        const index = at >= 0 ? unravel(at, problem.slots[k].shape) : [];
        return fail(name, `${resultLabel(problem, k)}[${index.join(', ')}] differs between two doubleBackward calls: ${first[k][at]} then ${second[k][at]}`);
      }
    }
    return pass(name, 'two doubleBackward calls gave bitwise identical results');
  });
}

/** Purity: `dy`, `params`, `saved`, `ddx` and `dgrads` are bitwise unchanged by a `doubleBackward` call (`saved` leaf by leaf, as for backward). */
export function checkDoubleBackwardPurity(problem: SecondOrderProblem, c: Float64Array): ContractOutcome {
  const name = 'double-backward-purity';
  return guarded(name, () => {
    const member = problem.normalizer.doubleBackward;
    if (typeof member !== 'function') throw new Error('no doubleBackward');
    const { ddx, dgrads } = problem.cotangents(c);
    const dy = tensor(problem.dy.slice(), problem.forwardShape.slice());
    const before = { args: snapshot({ dy, ddx }), params: snapshot(problem.params), dgrads: snapshot(dgrads) };
    const forward = problem.normalizer.forward({ x: problem.x, params: problem.params, state: problem.state, mode: problem.mode });
    const beforeSaved = snapshotSaved(forward.saved);
    member({ dy, params: problem.params, saved: forward.saved, ddx, dgrads });
    const changes = [
      ...changesSince(before.args, { dy, ddx }, 'args').map((m) => m.replace(/^args\./, '')),
      ...changesSince(before.params, problem.params, 'params'),
      ...savedChanges(beforeSaved, forward.saved),
      ...changesSince(before.dgrads, dgrads, 'dgrads'),
    ];
    if (changes.length > 0) return fail(name, `doubleBackward mutated its arguments: ${changes.join('; ')}`);
    return pass(name, 'dy, params, saved, ddx and dgrads unchanged by doubleBackward');
  });
}

/**
 * An absent `dgrads`, or an absent entry of it, counts as zero cotangents (the contract of
 * `doubleBackward`): a call without `dgrads`, and a call whose `dgrads` leaves out one entry
 * (each in turn) with the others zero, give what a call with every entry zero gives, within
 * the linearity bound ({@link LINEARITY_RTOL} per result plus {@link LINEARITY_ATOL} of the
 * whole computation). Passes without comparing when the normalizer has no parameters.
 */
export function checkDoubleBackwardAbsentDgrads(problem: SecondOrderProblem, c: Float64Array): ContractOutcome {
  const name = 'double-backward-absent-dgrads';
  return guarded(name, () => {
    const member = problem.normalizer.doubleBackward;
    if (typeof member !== 'function') throw new Error('no doubleBackward');
    const { ddx, dgrads } = problem.cotangents(c);
    if (Object.keys(dgrads).length === 0) return pass(name, 'no parameters: dgrads has no entries');
    const zero: TensorRecord = {};
    for (const [key, t] of Object.entries(dgrads)) zero[key] = tensor(new Float64Array(t.data.length), t.shape.slice());
    const call = (dgradsGiven: TensorRecord | undefined) => {
      const forward = problem.normalizer.forward({ x: problem.x, params: problem.params, state: problem.state, mode: problem.mode });
      const dy = tensor(problem.dy.slice(), problem.forwardShape.slice());
      return member({ dy, params: problem.params, saved: forward.saved, ddx, ...(dgradsGiven === undefined ? {} : { dgrads: dgradsGiven }) });
    };
    const zeros = call(zero);
    const variants: [string, TensorRecord | undefined][] = [
      ['without dgrads', undefined],
      ...Object.keys(zero).map((left): [string, TensorRecord | undefined] => [`without dgrads.${left}`, Object.fromEntries(Object.entries(zero).filter(([key]) => key !== left))]),
    ];
    for (const [how, dgradsGiven] of variants) {
      const absent = call(dgradsGiven);
      const pairs: [string, Tensor | undefined, Tensor | undefined][] = [
        ['dx', zeros.dx, absent.dx],
        ['ddy', zeros.ddy, absent.ddy],
        ...Object.keys(problem.params).map((key): [string, Tensor | undefined, Tensor | undefined] => [`grads.${key}`, zeros.grads[key], absent.grads[key]]),
      ];
      const floor = LINEARITY_ATOL * Math.max(1, maxAbs(c), ...pairs.map(([, z]) => (isTensor(z) ? maxAbs(toTypedArray(z)) : 0)));
      for (const [label, z, a] of pairs) {
        if (!isTensor(z) || !isTensor(a) || !shapesEqual(z.shape, a.shape)) return fail(name, `${label}: the call ${how} does not return it in the shape the call with zero dgrads does`);
        const zv = toTypedArray(z);
        const av = toTypedArray(a);
        const bound = LINEARITY_RTOL * maxAbs(zv) + floor;
        for (let j = 0; j < zv.length; j++) {
          if (!(Math.abs(av[j] - zv[j]) <= bound)) {
            return fail(name, `${label}[${unravel(j, z.shape).join(', ')}]: doubleBackward ${how} gives ${av[j]}, with zero dgrads ${zv[j]} (an absent entry must count as zero)`);
          }
        }
      }
    }
    return pass(name, 'doubleBackward without dgrads, or without any one entry of it, gives what zero dgrads give');
  });
}

/**
 * Float32 values: `doubleBackward` at the point and cotangents rounded to float32, run in
 * float32, against the same call in float64 on the same (widened) values, every element of
 * `dx`, `ddy` and each parameter gradient within {@link FLOAT32_RTOL}·|e| +
 * {@link FLOAT32_ATOL}·max(1, max|e|) of the float64 result, as order 1's float32 check.
 *
 * @param float32 - the float32 call's result
 * @param float64 - the float64 call's result on the same values
 */
export function checkDoubleBackwardFloat32(float32: () => DoubleBackwardOutcome, float64: () => DoubleBackwardOutcome): ContractOutcome {
  const name = 'double-backward-float32';
  return guarded(name, () => {
    const reference = float64();
    let actual: DoubleBackwardOutcome;
    try {
      actual = float32();
    } catch (e) {
      return fail(name, `forward or doubleBackward threw in float32: ${errorMessage(e)}`);
    }
    const pairs: [string, Tensor | undefined, Tensor | undefined][] = [
      ['dx', reference.dx, actual.dx],
      ['ddy', reference.ddy, actual.ddy],
      ...Object.keys(reference.grads).map((key): [string, Tensor | undefined, Tensor | undefined] => [`grads.${key}`, reference.grads[key], actual.grads[key]]),
    ];
    for (const [label, e, a] of pairs) {
      // Shapes and dtypes are double-backward-shapes-dtypes's business: compare what compares.
      if (!isTensor(e) || !isTensor(a) || !shapesEqual(e.shape, a.shape)) continue;
      const ev = toTypedArray(e);
      const av = toTypedArray(a);
      const floor = FLOAT32_ATOL * Math.max(1, maxAbs(ev));
      for (let j = 0; j < ev.length; j++) {
        if (!(Math.abs(av[j] - ev[j]) <= FLOAT32_RTOL * Math.abs(ev[j]) + floor)) {
          return fail(name, `${label}[${unravel(j, e.shape).join(', ')}] is ${av[j]} in float32, ${ev[j]} in float64 on the same values`);
        }
      }
    }
    return pass(name, `dx, ddy and the parameter gradients in float32 agree with float64 on the same values (rtol ${FLOAT32_RTOL}, atol ${FLOAT32_ATOL}·max(1, max|e|))`);
  });
}

/**
 * Linearity in the cotangents: doubleBackward(α·(ddx, dgrads)) = α·doubleBackward(ddx, dgrads)
 * for α in {@link LINEARITY_ALPHAS}, with the first-order linearity bound
 * ({@link LINEARITY_RTOL} per result plus {@link LINEARITY_ATOL} of the whole computation).
 */
export function checkDoubleBackwardLinearity(problem: SecondOrderProblem, c: Float64Array): ContractOutcome {
  const name = 'double-backward-linearity';
  return guarded(name, () => {
    const base = problem.vjp(c);
    for (const alpha of LINEARITY_ALPHAS) {
      const scaled = problem.vjp(c.map((v) => alpha * v));
      const scales = base.map((b, k) => Math.max(Math.abs(alpha) * maxAbs(b), maxAbs(scaled[k])));
      const floor = LINEARITY_ATOL * Math.max(1, Math.abs(alpha) * maxAbs(c), ...scales);
      for (let k = 0; k < base.length; k++) {
        const bound = LINEARITY_RTOL * scales[k] + floor;
        for (let j = 0; j < base[k].length; j++) {
          const expected = alpha * base[k][j];
          if (!(Math.abs(scaled[k][j] - expected) <= bound)) {
            const index = unravel(j, problem.slots[k].shape);
            return fail(name, `${resultLabel(problem, k)}[${index.join(', ')}]: doubleBackward(${alpha}·ddx, ${alpha}·dgrads) = ${scaled[k][j]}, but ${alpha}·doubleBackward(ddx, dgrads) = ${expected}`);
          }
        }
      }
    }
    return pass(name, `doubleBackward(α·ddx, α·dgrads) = α·doubleBackward(ddx, dgrads) for α = ${LINEARITY_ALPHAS.join(', ')}`);
  });
}

function mismatch(value: unknown, label: string, shape: readonly number[], dtype: Dtype): string | null {
  if (!isTensor(value)) return `${label} is not a float tensor`;
  if (!shapesEqual(value.shape, shape)) return `${label} has shape ${formatShape(value.shape)}, expected ${formatShape(shape)}`;
  if (dtypeOf(value) !== dtype) return `${label} is ${dtypeOf(value)}, expected ${dtype}`;
  return null;
}

/** Problems with the shapes and dtypes of one doubleBackward result (everything in x's dtype). */
export function doubleBackwardShapeProblems(x: Tensor, yShape: readonly number[], params: TensorRecord, result: DoubleBackwardOutcome, dtype: Dtype): string[] {
  const problems: string[] = [];
  const dx = mismatch(result.dx, 'dx', x.shape, dtype);
  if (dx !== null) problems.push(dx);
  const ddy = mismatch(result.ddy, 'ddy', yShape, dtype);
  if (ddy !== null) problems.push(ddy);
  for (const [name, p] of Object.entries(params)) {
    const g = result.grads[name];
    if (g === undefined) {
      problems.push(`grads.${name} is missing`);
      continue;
    }
    const m = mismatch(g, `grads.${name}`, p.shape, dtype);
    if (m !== null) problems.push(m);
  }
  for (const name of Object.keys(result.grads)) if (params[name] === undefined) problems.push(`grads.${name} is given but there is no parameter ${name}`);
  return problems;
}

/**
 * Shapes and dtypes: `dx` like x, `ddy` shaped like y, one gradient per parameter shaped like
 * it, all in x's dtype, in float64 (the point) and in float32 (the point rounded, via `float32`).
 *
 * @param float32 - runs forward and doubleBackward at the float32 version of the point
 */
export function checkDoubleBackwardShapes(
  problem: SecondOrderProblem,
  c: Float64Array,
  float32: () => { x: Tensor; params: TensorRecord; yShape: readonly number[]; result: DoubleBackwardOutcome },
): ContractOutcome {
  const name = 'double-backward-shapes-dtypes';
  return guarded(name, () => {
    const result = problem.doubleBackwardRaw(c);
    const problems = doubleBackwardShapeProblems(problem.x, problem.forwardShape, problem.params, result, 'float64').map((m) => `float64: ${m}`);
    let run32;
    try {
      run32 = float32();
    } catch (e) {
      problems.push(`float32: forward or doubleBackward threw: ${errorMessage(e)}`);
    }
    if (run32 !== undefined) problems.push(...doubleBackwardShapeProblems(run32.x, run32.yShape, run32.params, run32.result, 'float32').map((m) => `float32: ${m}`));
    if (problems.length > 0) return fail(name, problems.join('; '));
    return pass(name, 'dx, ddy and every parameter gradient of doubleBackward have the right shapes and dtypes in float64 and float32');
  });
}
