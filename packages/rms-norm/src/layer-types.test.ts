// Type tests: what RMSNorm types as present follows its options (checked by `tsc -p tsconfig.test.json`,
// part of `npm test`; an unused `@ts-expect-error` fails it). The runtime assertions check that the
// types tell the truth.
import type { Tensor } from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { RMSNorm } from './layer.js';
import type { RmsNormInputOptions } from './options.js';

describe('RMSNorm: parameters and state typed by the options', () => {
  it('with the defaults, what exists is typed Tensor (no ! needed), and exists', () => {
    const layer = new RMSNorm({ normalizedShape: 3 });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.grads.weight).toEqualTypeOf<Tensor>();
    expect(layer.weight.shape).toEqual(layer.params.weight.shape);
    expect(Array.from(layer.grads.weight.data).every((g) => g === 0)).toBe(true);
  });

  it('with the switches flipped (elementwiseAffine: false), the types flip too', () => {
    const layer = new RMSNorm({ normalizedShape: 3, elementwiseAffine: false });
    expectTypeOf(layer.weight).toEqualTypeOf<undefined>();
    expect(layer.weight).toBeUndefined();
  });

  it('options whose type does not tell (a boolean variable, or the options type) leave Tensor | undefined', () => {
    const on: boolean = Number('1') === 1;
    const layer = new RMSNorm({ normalizedShape: 3, elementwiseAffine: on });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor | undefined>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor | undefined>();
    const options: RmsNormInputOptions = { normalizedShape: 3 };
    expectTypeOf(new RMSNorm(options).weight).toEqualTypeOf<Tensor | undefined>();
    const annotated: RMSNorm = new RMSNorm({ normalizedShape: 3 });
    expectTypeOf(annotated.weight).toEqualTypeOf<Tensor | undefined>();
    expect(layer.weight).toBeDefined();
  });
});
