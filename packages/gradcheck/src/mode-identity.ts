import type { ContractOutcome } from './contract-checks.js';
import { firstBitDifference } from './contract-checks.js';
import { indexText } from './compare.js';
import { errorMessage } from './jacobian.js';
import type { CheckPoint } from './point.js';
import { allIn, inputsIn } from './point.js';
import { namedOutputs, runForwardBackward } from './run.js';

/**
 * The check of a `modeIndependent` declaration at one point: forward and backward in train
 * mode and in eval mode, with the same x, parameters, state and dy (float64), give bitwise
 * identical y, next state, dx and gradients.
 *
 * @param point - the point (its mode is ignored: both are run)
 */
export function checkModeIdentity(point: CheckPoint): ContractOutcome {
  const name = 'mode-identity';
  const inputs = inputsIn(point, allIn('float64'));
  let train;
  let evaluation;
  try {
    train = namedOutputs(runForwardBackward(point.bound, 'train', inputs));
  } catch (e) {
    return { name, status: 'error', message: `train-mode forward or backward threw: ${errorMessage(e)}` };
  }
  try {
    evaluation = namedOutputs(runForwardBackward(point.bound, 'eval', inputs));
  } catch (e) {
    return { name, status: 'fail', message: `the plugin declares modeIndependent, but eval-mode forward or backward threw where train mode did not: ${errorMessage(e)}` };
  }
  const byName = new Map(evaluation.map((o) => [o.name, o]));
  const problems: string[] = [];
  for (const t of train) {
    const e = byName.get(t.name);
    if (e === undefined) {
      problems.push(`eval returns no ${t.name}`);
      continue;
    }
    const at = firstBitDifference(t.values, e.values);
    if (at === -2) problems.push(`${t.name} has ${t.values.length} values in train mode, ${e.values.length} in eval mode`);
    else if (at >= 0) problems.push(`${t.name}${indexText(at, t.shape)} is ${t.values[at]} in train mode, ${e.values[at]} in eval mode`);
  }
  for (const e of evaluation) if (!train.some((t) => t.name === e.name)) problems.push(`eval returns ${e.name}, train does not`);
  if (problems.length > 0) return { name, status: 'fail', message: `the plugin declares modeIndependent, but ${problems.slice(0, 3).join('; ')}` };
  return { name, status: 'pass', message: 'declared modeIndependent: train and eval give bitwise identical y, state, dx and gradients' };
}
