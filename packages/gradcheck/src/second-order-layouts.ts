import { dtypeOf, tensor, toTypedArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import type { ContractOutcome } from './contract-checks.js';
import { errorMessage } from './jacobian.js';
import { LAYOUT_ATOL, LAYOUT_RTOL, LAYOUT_TEXT } from './layout-checks.js';
import { asFloat64, presentTensors } from './problem.js';
import type { TensorRecord } from './problem.js';
import type { NamedOutput } from './run.js';
import { bufferBytes, changedBuffers, outputDifferences, prefixed } from './run.js';
import { savedChanges, snapshotSaved } from './saved-snapshot.js';
import type { SecondOrderProblem } from './second-order-problem.js';
import type { InputLayout } from './views.js';
import { viewInLayout } from './views.js';

/** The arguments of an order-2 run that a layout check can put in a layout. */
type SecondOrderInput = 'x' | 'params' | 'state' | 'dy' | 'ddx' | 'dgrads';

/** The results of a `doubleBackward` call as named outputs (`dx`, `ddy`, `grads.<name>`), float64. */
function namedResults(result: { dx: Tensor; ddy: Tensor; grads: TensorRecord }): NamedOutput[] {
  const flat = (name: string, t: Tensor): NamedOutput => ({ name, shape: t.shape.slice(), dtype: dtypeOf(t), values: asFloat64(toTypedArray(t)), forward: false });
  return [flat('dx', result.dx), flat('ddy', result.ddy), ...Object.entries(result.grads).map(([name, t]) => flat(`grads.${name}`, t))];
}

/**
 * One order-2 layout check of a case: forward and `doubleBackward` with `x`, the parameters,
 * the state, `dy`, `ddx` and `dgrads` all given in `layout` (so `saved` holds the views),
 * against the contiguous call at the same point; then each of them in the layout alone, the
 * others contiguous (a fast path chosen from one argument's layout must not assume the
 * others'). Each call is watched for writes to its arguments (the whole buffers behind the
 * views, and `saved`), as order 1's runs are. `dx`, `ddy` and the parameter results must agree within {@link LAYOUT_RTOL} ·|e| +
 * {@link LAYOUT_ATOL}·S, S = max(1, max|e|) over the results and the cotangents, in float64.
 *
 * @param problem - the case's order-2 problem (float64, contiguous)
 * @param c - the output cotangent of the case (flat: `ddx`, then `dgrads`)
 * @param layout - the layout
 */
export function checkDoubleBackwardLayout(problem: SecondOrderProblem, c: Float64Array, layout: InputLayout): ContractOutcome {
  const name = 'double-backward-layout';
  const member = problem.normalizer.doubleBackward;
  if (typeof member !== 'function') return { name, detail: layout, status: 'error', message: 'no doubleBackward' };
  let reference: NamedOutput[];
  try {
    reference = namedResults(problem.doubleBackwardRaw(c));
  } catch (e) {
    return { name, detail: layout, status: 'error', message: `the contiguous call threw: ${errorMessage(e)}` };
  }
  const { ddx, dgrads } = problem.cotangents(c);
  const record = (r: TensorRecord, on: boolean): TensorRecord => (on ? Object.fromEntries(Object.entries(r).map(([k, t]) => [k, viewInLayout(t, layout)])) : r);
  const attempt = (which: ReadonlySet<SecondOrderInput>): string[] => {
    const x = which.has('x') ? viewInLayout(problem.x, layout) : problem.x;
    const params = record(problem.params, which.has('params'));
    const state = record(problem.state, which.has('state'));
    const dyFlat = tensor(problem.dy.slice(), problem.forwardShape.slice());
    const dy = which.has('dy') ? viewInLayout(dyFlat, layout) : dyFlat;
    const ddxIn = which.has('ddx') ? viewInLayout(ddx, layout) : ddx;
    const dgradsIn = record(dgrads, which.has('dgrads'));
    // Watched for writes as order 1's runs are: the whole buffers behind the views, and saved.
    const forwardArgs = { x, ...prefixed('params', params), ...prefixed('state', state) };
    const doubleBackwardArgs = { dy, ddx: ddxIn, ...prefixed('params', params), ...prefixed('dgrads', dgradsIn) };
    let result;
    try {
      const beforeForward = bufferBytes(forwardArgs);
      const forward = problem.normalizer.forward({ x, params, state, mode: problem.mode });
      const forwardWrites = changedBuffers(beforeForward, forwardArgs);
      if (forwardWrites.length > 0) return [`forward wrote to its arguments (${forwardWrites.join(', ')})`];
      const before = bufferBytes(doubleBackwardArgs);
      const beforeSaved = snapshotSaved(forward.saved);
      result = member({ dy, params, saved: forward.saved, ddx: ddxIn, dgrads: dgradsIn });
      const writes = [...changedBuffers(before, doubleBackwardArgs), ...savedChanges(beforeSaved, forward.saved)];
      if (writes.length > 0) return [`doubleBackward wrote to its arguments (${writes.join('; ')}): it never writes dy, params, saved, ddx or dgrads`];
    } catch (e) {
      return [`forward or doubleBackward threw: ${errorMessage(e)}`];
    }
    try {
      return outputDifferences(namedResults({ dx: result.dx, ddy: result.ddy, grads: presentTensors(result.grads) }), reference, { rtol: LAYOUT_RTOL, atol: LAYOUT_ATOL, scale: 'pass' }, c);
    } catch (e) {
      return [`doubleBackward returned something that is not a result: ${errorMessage(e)}`];
    }
  };
  const all: SecondOrderInput[] = ['x', 'dy', 'ddx'];
  if (Object.keys(problem.params).length > 0) all.push('params', 'dgrads');
  if (Object.keys(problem.state).length > 0) all.push('state');
  const differences = attempt(new Set(all));
  const culprits = all.map((input) => ({ input, differences: attempt(new Set([input])) })).filter((a) => a.differences.length > 0);
  if (differences.length > 0) {
    const blame = culprits.length === 0 ? 'no single argument reproduces it' : `reproduced with ${culprits.map((a) => a.input).join(', ')} alone`;
    return { name, detail: layout, status: 'fail', message: `${all.join(', ')} ${LAYOUT_TEXT[layout]}: ${differences.slice(0, 3).join('; ')} (${blame})` };
  }
  if (culprits.length > 0) {
    const first = culprits[0];
    return {
      name,
      detail: layout,
      status: 'fail',
      message: `${culprits.map((a) => a.input).join(', ')} alone ${LAYOUT_TEXT[layout]} (the other arguments contiguous; all of them in the layout agree): ${first.input}: ${first.differences.slice(0, 3).join('; ')}`,
    };
  }
  return { name, detail: layout, status: 'pass', message: `${all.join(', ')} ${LAYOUT_TEXT[layout]}, together and each alone, give the contiguous results` };
}
