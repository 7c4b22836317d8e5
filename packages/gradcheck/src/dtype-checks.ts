import { dtypeOf, isNormkitError } from '@normkit/core';
import type { Dtype, DtypeSupport } from '@normkit/core';
import type { ContractOutcome } from './contract-checks.js';
import { changesSince, snapshot } from './contract-checks.js';
import { FLOAT32_ATOL, FLOAT32_RTOL } from './float32-check.js';
import { errorMessage } from './jacobian.js';
import type { CheckPoint, RunDtypes } from './point.js';
import { float64ReferenceOf, inputsIn, widened } from './point.js';
import type { RunInputs, RunOutputs } from './run.js';
import { namedOutputs, outputDifferences, runForwardBackward } from './run.js';

const DTYPES: readonly Dtype[] = ['float64', 'float32'];

function comboText(d: RunDtypes): string {
  return `x ${d.x}, dy ${d.dy}, params ${d.params}`;
}

/**
 * The dtype combinations a declaration accepts (`accepted`) and those it refuses
 * (`refused`), besides the three dtypes being equal (the base and float32 checks).
 */
export function dtypeCombinations(support: DtypeSupport): { accepted: RunDtypes[]; refused: RunDtypes[] } {
  const accepted: RunDtypes[] = [];
  const refused: RunDtypes[] = [];
  for (const x of DTYPES) {
    for (const dy of DTYPES) {
      for (const params of DTYPES) {
        if (dy === x && params === x) continue;
        const ok = (dy === x || support.dy === 'either') && (params === x || support.params === 'either');
        (ok ? accepted : refused).push({ x, dy, params });
      }
    }
  }
  return { accepted, refused };
}

/** Problems with the output dtypes of a mixed run: y and dx follow x, each gradient its parameter, each state entry its input. */
function dtypeProblems(inputs: RunInputs, outputs: RunOutputs): string[] {
  const problems: string[] = [];
  const xDtype = dtypeOf(inputs.x);
  if (dtypeOf(outputs.y) !== xDtype) problems.push(`y is ${dtypeOf(outputs.y)}, expected ${xDtype} (x's dtype)`);
  if (dtypeOf(outputs.dx) !== xDtype) problems.push(`dx is ${dtypeOf(outputs.dx)}, expected ${xDtype} (x's dtype, whatever dy's)`);
  for (const [name, g] of Object.entries(outputs.grads)) {
    const p = inputs.params[name];
    if (p !== undefined && dtypeOf(g) !== dtypeOf(p)) problems.push(`grads.${name} is ${dtypeOf(g)}, expected ${dtypeOf(p)} (the parameter's dtype)`);
  }
  for (const [name, s] of Object.entries(outputs.state)) {
    const before = inputs.state[name];
    if (before !== undefined && dtypeOf(s) !== dtypeOf(before)) problems.push(`state.${name} is ${dtypeOf(s)}, expected ${dtypeOf(before)} (the state keeps its dtype)`);
  }
  return problems;
}

/**
 * Runs `call` with V8's stack traces switched off: an expected error then costs a few
 * microseconds instead of ~100 (the stack of a deep call is most of an error's cost).
 */
export function withoutStackTraces<R>(call: () => R): R {
  const errors = Error as { stackTraceLimit?: number };
  const limit = errors.stackTraceLimit;
  errors.stackTraceLimit = 0;
  try {
    return call();
  } finally {
    errors.stackTraceLimit = limit;
  }
}

/** What a call that should throw `E_DTYPE` did instead, or `null` when it threw `E_DTYPE` and changed none of `watched`. */
function refusalProblem(call: () => unknown, watched: Record<string, RunInputs['params']>): string | null {
  const before = Object.fromEntries(Object.entries(watched).map(([k, r]) => [k, snapshot(r)]));
  try {
    withoutStackTraces(call);
  } catch (e) {
    if (!isNormkitError(e)) return `threw ${errorMessage(e)}, expected a NormkitError E_DTYPE`;
    if (e.code !== 'E_DTYPE') return `threw ${e.code} (${e.message}), expected E_DTYPE`;
    const changes = Object.entries(watched).flatMap(([k, r]) => changesSince(before[k], r, k));
    return changes.length === 0 ? null : `threw E_DTYPE but changed its arguments: ${changes.join('; ')}`;
  }
  return 'returned, expected E_DTYPE (the plugin declares it does not accept this mix)';
}

/**
 * The mixed-dtype check of a case, for a plugin that declares {@link DtypeSupport}:
 *
 * - every accepted mix of x, dy and the parameters (with the floating state) that is not all
 *   one dtype: forward and backward run, y and dx have x's dtype, each gradient its
 *   parameter's, each state entry keeps its dtype, and the values equal the float64 run on the
 *   same values within the float32 tolerances;
 * - every refused mix: forward (parameters or state of the other dtype) or backward (dy or
 *   parameters of the other dtype) throws `E_DTYPE` and changes none of its arguments.
 *
 * @param point - the point of the case
 * @param support - what the plugin declares
 */
export function checkMixedDtypes(point: CheckPoint, support: DtypeSupport): ContractOutcome {
  const name = 'mixed-dtypes';
  const { accepted, refused } = dtypeCombinations(support);
  const problems: string[] = [];
  for (const combo of accepted) {
    const inputs = inputsIn(point, combo);
    try {
      const reference = namedOutputs(runForwardBackward(float64ReferenceOf(point.bound, dtypeOf(inputs.x)), point.mode, widened(inputs)));
      const run = runForwardBackward(point.bound, point.mode, inputs);
      const found = [...dtypeProblems(inputs, run), ...outputDifferences(namedOutputs(run), reference, { rtol: FLOAT32_RTOL, atol: FLOAT32_ATOL, scale: 'tensor' }, point.r)];
      if (found.length > 0) problems.push(`${comboText(combo)}: ${found.slice(0, 3).join('; ')}`);
    } catch (e) {
      problems.push(`${comboText(combo)} (declared accepted): threw ${errorMessage(e)}`);
    }
  }
  // Each refusal once: forward per (x, params) dtypes; backward per (x, params, dy) dtypes,
  // with dy's dtype left at x's when only the parameters are refused.
  const seen = new Set<string>();
  for (const combo of refused) {
    const paramsRefused = combo.params !== combo.x && support.params === 'same-as-x';
    const dyRefused = combo.dy !== combo.x && support.dy === 'same-as-x';
    const inputs = inputsIn(point, dyRefused ? combo : { ...combo, dy: combo.x });
    const hasParams = Object.keys(inputs.params).length > 0;
    const hasState = Object.keys(inputs.state).length > 0;
    const forwardKey = `forward ${combo.x} ${combo.params}`;
    if (paramsRefused && (hasParams || hasState) && !seen.has(forwardKey)) {
      seen.add(forwardKey);
      const p = refusalProblem(() => point.bound.forward({ x: inputs.x, params: inputs.params, state: inputs.state, mode: point.mode }), {
        x: { x: inputs.x },
        params: inputs.params,
        state: inputs.state,
      });
      if (p !== null) problems.push(`x ${combo.x}, params ${combo.params}: forward ${p}`);
    }
    const backwardKey = `backward ${combo.x} ${paramsRefused && hasParams ? combo.params : combo.x} ${dyRefused ? combo.dy : combo.x}`;
    if (!((paramsRefused && hasParams) || dyRefused) || seen.has(backwardKey)) continue;
    seen.add(backwardKey);
    // Backward of a forward call the plugin accepts, handed the refused dy or parameters.
    const accepted = paramsRefused ? inputsIn(point, { ...combo, params: combo.x, dy: combo.x }) : inputs;
    let saved: object;
    try {
      saved = point.bound.forward({ x: accepted.x, params: accepted.params, state: accepted.state, mode: point.mode }).saved;
    } catch (e) {
      problems.push(`${comboText(combo)}: forward with parameters of x's dtype threw ${errorMessage(e)}`);
      continue;
    }
    const p = refusalProblem(() => point.bound.backward({ dy: inputs.dy, params: inputs.params, saved }), { dy: { dy: inputs.dy }, params: inputs.params });
    if (p !== null) problems.push(`${comboText(dyRefused ? combo : { ...combo, dy: combo.x })}: backward ${p}`);
  }
  if (problems.length > 0) return { name, status: 'fail', message: problems.join(' | ') };
  const said = `declared: dy ${support.dy}, params ${support.params}`;
  return {
    name,
    status: 'pass',
    message: `${said}; ${accepted.length} accepted mixes give x's dtype for y and dx and the float64 values, ${refused.length} refused mixes throw E_DTYPE and change nothing`,
  };
}
