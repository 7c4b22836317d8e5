import { Float64Scratch } from '@normkit/core';

const saved = new Float64Scratch(2);

/** The parameter-gradient sums of a backward call: `Σ dy` and `Σ dy·x̂` per parameter. */
interface ParamSums {
  readonly sumDy: Float64Array;
  readonly sumDyXhat: Float64Array;
}

/**
 * Copies of a backward call's parameter sums, taken before core's `cellGradientCoefficients`
 * adds into them, so that a kernel that declines the call after that folding can put them back:
 * the TypeScript fallback folds again, and would otherwise count every `dγ`, `dβ` twice.
 *
 * @param call - the call (its `sumDy`, `sumDyXhat`)
 * @returns the copies, valid until the next call of this function
 */
export function saveParamSums(call: ParamSums): ParamSums {
  const sumDy = saved.take(0, call.sumDy.length);
  sumDy.set(call.sumDy);
  const sumDyXhat = saved.take(1, call.sumDyXhat.length);
  sumDyXhat.set(call.sumDyXhat);
  return { sumDy, sumDyXhat };
}

/**
 * Puts back the sums {@link saveParamSums} copied.
 *
 * @param call - the call
 * @param copies - what `saveParamSums(call)` returned
 */
export function restoreParamSums(call: ParamSums, copies: ParamSums): void {
  call.sumDy.set(copies.sumDy);
  call.sumDyXhat.set(copies.sumDyXhat);
}
