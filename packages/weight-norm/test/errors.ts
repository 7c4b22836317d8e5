import { NormkitError } from '@normkit/core';
import { expect } from 'vitest';

/** Asserts that `fn` throws a `NormkitError` with `code`. */
export function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NormkitError);
  expect((caught as NormkitError).code).toBe(code);
}
