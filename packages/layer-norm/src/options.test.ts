import { describe, expect, it } from 'vitest';
import { isNormkitError } from '@normkit/core';
import { DEFAULT_EPS, hasBias, hasWeight, resolveLayerNormOptions } from './options.js';
import type { LayerNormInputOptions } from './options.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (e) {
    return isNormkitError(e) ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

describe('resolveLayerNormOptions', () => {
  it('fills the PyTorch defaults: eps 1e-5, elementwiseAffine true, bias true', () => {
    expect(resolveLayerNormOptions({ normalizedShape: [5] })).toEqual({
      normalizedShape: [5],
      eps: 1e-5,
      elementwiseAffine: true,
      bias: true,
    });
    expect(DEFAULT_EPS).toBe(1e-5);
  });

  it('accepts one number for normalizedShape and returns a list', () => {
    expect(resolveLayerNormOptions({ normalizedShape: 768 }).normalizedShape).toEqual([768]);
  });

  it('copies and freezes normalizedShape (later changes to the input do not leak in)', () => {
    const shape = [3, 4];
    const options = resolveLayerNormOptions({ normalizedShape: shape, eps: 1e-3 });
    shape[0] = 99;
    expect(options.normalizedShape).toEqual([3, 4]);
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.normalizedShape)).toBe(true);
  });

  it('is idempotent: resolving resolved options gives the same options', () => {
    const once = resolveLayerNormOptions({ normalizedShape: [2, 3], eps: 1e-6, elementwiseAffine: false, bias: false });
    expect(resolveLayerNormOptions(once)).toEqual(once);
  });

  it('bias: false keeps the weight and drops the bias; without elementwiseAffine there are no parameters', () => {
    const noBias = resolveLayerNormOptions({ normalizedShape: 4, bias: false });
    expect([hasWeight(noBias), hasBias(noBias)]).toEqual([true, false]);
    const noAffine = resolveLayerNormOptions({ normalizedShape: 4, elementwiseAffine: false, bias: true });
    expect([hasWeight(noAffine), hasBias(noAffine)]).toEqual([false, false]);
    expect(noAffine.bias).toBe(true); // kept as given: it has no effect without elementwiseAffine
  });

  const bad: [string, unknown][] = [
    ['missing options', undefined],
    ['a non-object', 5],
    ['an array', [4]],
    ['missing normalizedShape', {}],
    ['an unknown key (PyTorch spelling)', { normalizedShape: 4, elementwise_affine: true }],
    ['a typo', { normalizedShape: 4, esp: 1e-5 }],
    ['normalizedShape 0', { normalizedShape: 0 }],
    ['normalizedShape empty list', { normalizedShape: [] }],
    ['normalizedShape non-integer', { normalizedShape: [2.5] }],
    ['normalizedShape negative', { normalizedShape: [3, -1] }],
    ['normalizedShape a string', { normalizedShape: '4' }],
    ['eps 0', { normalizedShape: 4, eps: 0 }],
    ['eps negative', { normalizedShape: 4, eps: -1e-5 }],
    ['eps NaN', { normalizedShape: 4, eps: Number.NaN }],
    ['eps Infinity', { normalizedShape: 4, eps: Number.POSITIVE_INFINITY }],
    ['eps a string', { normalizedShape: 4, eps: '1e-5' }],
    ['elementwiseAffine not boolean', { normalizedShape: 4, elementwiseAffine: 1 }],
    ['bias not boolean', { normalizedShape: 4, bias: 'no' }],
  ];
  for (const [what, input] of bad) {
    it(`rejects ${what} with E_OPTION`, () => {
      expect(codeOf(() => resolveLayerNormOptions(input as LayerNormInputOptions))).toBe('E_OPTION');
    });
  }

  it('names the option in the message', () => {
    try {
      resolveLayerNormOptions({ normalizedShape: 4, eps: 0 });
      expect.unreachable();
    } catch (e) {
      expect(isNormkitError(e, 'E_OPTION')).toBe(true);
      expect((e as Error).message).toContain('eps');
      expect((e as Error).message).toContain('> 0');
    }
  });
});
