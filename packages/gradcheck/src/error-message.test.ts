import { NormkitError } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { errorMessage } from './jacobian.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('errorMessage: where a plugin bug was thrown', () => {
  it('a TypeError gets the first frame of the file it came from', () => {
    const e = caught(() => (undefined as unknown as { foo: number }).foo);
    expect(errorMessage(e)).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'foo'\) \(at .*error-message\.test\.ts:\d+:\d+\)\)?$/);
  });

  it('a message with a line starting "at " is not taken for the frame', () => {
    const e = caught(() => {
      throw new Error('bad value\nat index 3 the value is NaN');
    });
    const text = errorMessage(e);
    expect(text).not.toContain('(at index 3');
    expect(text).toMatch(/\(at .*error-message\.test\.ts:\d+:\d+\)\)?$/);
  });

  it('a throw inside a builtin names the user’s frame, not <anonymous>', () => {
    const e = caught(() => new Float32Array(-1));
    expect(errorMessage(e)).not.toContain('<anonymous>');
    expect(errorMessage(e)).toMatch(/error-message\.test\.ts:\d+:\d+/);
  });

  it('a NormkitError (a refusal the plugin meant) has no frame; a non-error is its string', () => {
    expect(errorMessage(new NormkitError('E_SHAPE', 'x: expected rank 2, got 3'))).toBe('NormkitError: x: expected rank 2, got 3');
    expect(errorMessage('plain')).toBe('plain');
  });
});
