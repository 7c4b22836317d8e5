import { NormkitError } from '../src/errors.js';

/**
 * The `NormkitError` that `fn` throws (core's own tests cannot use @normkit/testkit, which
 * depends on core).
 *
 * @param fn - the call expected to throw
 * @returns the error
 * @throws Error when `fn` returns, or throws anything that is not a `NormkitError` (rethrown)
 */
export function thrown(fn: () => unknown): NormkitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  throw new Error('expected a NormkitError, nothing was thrown');
}
