import { unravel } from '@normkit/core';
import { errorMessage } from './jacobian.js';
import type { SlotOutcome } from './jacobian.js';
import type { CheckPoint } from './point.js';
import { allIn, float64ReferenceOf, inputsIn, widened } from './point.js';
import { namedOutputs, runForwardBackward } from './run.js';
import { ErrorTracker, scaleOf } from './tolerance.js';

/**
 * Relative tolerance of the float32 value checks: a float32 result e32 passes against the
 * plugin's own float64 result e64 on the same (float32-representable) inputs when
 * |e32 − e64| ≤ 1e-4·|e64| + {@link FLOAT32_ATOL}·max(1, max|e64|).
 *
 * Why 1e-4 (PyTorch's float32 conformance tolerance too): a float32 result that is the float64
 * result rounded once is within 2^−24 ≈ 6e-8 of it; a plugin that accumulates in float32 adds
 * about m·2^−24 for sums over m values in the worst case and √m·2^−24 typically, so 1e-4
 * leaves room for sums over ~1e3 values in the worst case and ~1e6 typically. A float32-only
 * bug (a sign, a missing term, a wrong branch) is off by O(1).
 */
export const FLOAT32_RTOL = 1e-4;

/**
 * Absolute tolerance of the float32 value checks, times max(1, max|e64|) over the tensor: keeps
 * entries that are zero up to rounding (dx of a group of 2 values, cancellations in y) from
 * failing on a relative bound. 1e-5 is ~170 float32 ulps at 1.
 */
export const FLOAT32_ATOL = 1e-5;

/** One float32 comparison: which output, and how its values compared. */
export interface Float32Outcome extends SlotOutcome {
  /** `y`, `state.<name>`, `dx` or `grads.<name>`. */
  readonly tensor: string;
}

/**
 * The float32 value check of one case: forward and backward with x, the parameters, the
 * floating state and dy rounded to float32, against the same plugin in float64 on the same
 * rounded values (so that only the plugin's float32 arithmetic differs), every output element
 * compared at {@link FLOAT32_RTOL} / {@link FLOAT32_ATOL}. Shapes and dtypes are the
 * `shapes-dtypes` check's business.
 *
 * @param point - the point of the case
 * @param keep - how many worst entries to keep per output
 * @returns one outcome per output of the float64 run (y, state, dx, gradients)
 */
export function checkFloat32Values(point: CheckPoint, keep: number): Float32Outcome[] {
  const tolerance = { rtol: FLOAT32_RTOL, atol: FLOAT32_ATOL };
  const inputs32 = inputsIn(point, allIn('float32'));
  let reference;
  try {
    reference = namedOutputs(runForwardBackward(float64ReferenceOf(point.bound, 'float32'), point.mode, widened(inputs32)));
  } catch (e) {
    return [{ tensor: 'y', tracker: new ErrorTracker(tolerance, keep), error: `the float64 reference run threw: ${errorMessage(e)}`, summary: '' }];
  }
  let actual;
  try {
    actual = namedOutputs(runForwardBackward(point.bound, point.mode, inputs32));
  } catch (e) {
    const error = `forward or backward threw in float32: ${errorMessage(e)}`;
    return reference.map((o) => ({ tensor: o.name, tracker: new ErrorTracker(tolerance, keep), error, summary: '' }));
  }
  const byName = new Map(actual.map((o) => [o.name, o]));
  return reference.map((ref) => {
    const tracker = new ErrorTracker(tolerance, keep);
    const summary = `${ref.values.length} float32 values against the float64 run on the same inputs`;
    const got = byName.get(ref.name);
    if (got === undefined) return { tensor: ref.name, tracker, error: `the float32 run returned no ${ref.name}`, summary };
    if (got.values.length !== ref.values.length) {
      return { tensor: ref.name, tracker, error: `the float32 ${ref.name} has ${got.values.length} elements, the float64 one ${ref.values.length}`, summary };
    }
    const scale = scaleOf(ref.values);
    for (let i = 0; i < ref.values.length; i++) tracker.add(got.values[i], ref.values[i], scale, 'float32', () => unravel(i, ref.shape));
    return { tensor: ref.name, tracker, summary };
  });
}
