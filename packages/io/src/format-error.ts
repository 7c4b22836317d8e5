import { NormkitError } from '@normkit/core';

/**
 * The error every reader of this package throws on input that is not a valid file of its
 * format: a {@link NormkitError} with code `E_FORMAT`.
 *
 * @param message - a sentence naming the place in the file, what was expected and what came
 * @param argument - the argument read (`"bytes"` or `"text"`)
 * @returns the error, for the caller to throw
 */
export function formatError(message: string, argument: string): NormkitError {
  return new NormkitError('E_FORMAT', message, argument);
}
