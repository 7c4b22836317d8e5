import { describe, expect, it } from 'vitest';
import { booleanOption, numberOption, readOptions, shapeOption } from './options.js';
import { NormkitError } from './errors.js';

function error(fn: () => unknown): NormkitError | undefined {
  try {
    fn();
  } catch (e) {
    return e as NormkitError;
  }
  return undefined;
}

describe('option helpers', () => {
  it('read known keys, fill defaults and check ranges', () => {
    const o = readOptions({ eps: 1e-3, affine: false, shape: 4 }, ['eps', 'affine', 'shape', 'momentum'], 'p');
    expect(numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, 'p')).toBe(1e-3);
    expect(numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, 'p')).toBe(0.1);
    expect(booleanOption(o, 'affine', true, 'p')).toBe(false);
    expect(shapeOption(o, 'shape', 'p')).toEqual([4]);
    expect(readOptions(undefined, [], 'p')).toEqual({});
  });

  it('reject bad values with E_OPTION naming the option, the expectation and the value', () => {
    const e1 = error(() => numberOption({ eps: 0 }, 'eps', 1e-5, { greaterThan: 0 }, 'batch-norm'));
    expect(e1?.code).toBe('E_OPTION');
    expect(e1?.message).toBe('batch-norm options.eps: expected a finite number > 0, got 0');
    expect(error(() => numberOption({ n: 2.5 }, 'n', undefined, { integer: true }, 'p'))?.code).toBe('E_OPTION');
    expect(error(() => numberOption({}, 'n', undefined, { integer: true }, 'p'))?.message).toContain('got undefined');
    expect(error(() => numberOption({ n: NaN }, 'n', 1, {}, 'p'))?.message).toContain('got NaN');
    expect(error(() => booleanOption({ affine: 'yes' }, 'affine', true, 'p'))?.code).toBe('E_OPTION');
    expect(error(() => shapeOption({ s: [2, 0] }, 's', 'p'))?.code).toBe('E_OPTION');
    expect(error(() => readOptions({ epz: 1 }, ['eps'], 'p'))?.argument).toBe('options.epz');
    expect(error(() => readOptions(5, ['eps'], 'p'))?.code).toBe('E_OPTION');
    // Options given positionally (new LayerNorm(768), a PyTorch habit): the message lists the named options.
    expect(error(() => readOptions(768, ['normalizedShape', 'eps'], 'layer-norm'))?.message).toBe(
      'layer-norm options: expected an object of named options (normalizedShape, eps), got 768',
    );
  });
});
