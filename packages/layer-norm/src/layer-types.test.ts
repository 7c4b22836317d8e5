// Type tests: what LayerNorm types as present follows its options (checked by `tsc -p tsconfig.test.json`,
// part of `npm test`; an unused `@ts-expect-error` fails it). The runtime assertions check that the
// types tell the truth.
import type { Tensor } from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { LayerNorm } from './layer.js';
import type { LayerNormInputOptions } from './options.js';

describe('LayerNorm: parameters and state typed by the options', () => {
  it('with the defaults, what exists is typed Tensor (no ! needed), and exists', () => {
    const layer = new LayerNorm({ normalizedShape: 3 });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.grads.weight).toEqualTypeOf<Tensor>();
    expect(layer.weight.shape).toEqual(layer.params.weight.shape);
    expect(Array.from(layer.grads.weight.data).every((g) => g === 0)).toBe(true);
    expectTypeOf(layer.bias).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.params.bias).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.grads.bias).toEqualTypeOf<Tensor>();
    expect(layer.bias.shape).toEqual(layer.params.bias.shape);
    expect(Array.from(layer.grads.bias.data).every((g) => g === 0)).toBe(true);
  });

  it('with the switches flipped (elementwiseAffine: false, bias: false), the types flip too', () => {
    const layer = new LayerNorm({ normalizedShape: 3, elementwiseAffine: false, bias: false });
    expectTypeOf(layer.weight).toEqualTypeOf<undefined>();
    expect(layer.weight).toBeUndefined();
    expectTypeOf(layer.bias).toEqualTypeOf<undefined>();
    expect(layer.bias).toBeUndefined();
  });

  it('options whose type does not tell (a boolean variable, or the options type) leave Tensor | undefined', () => {
    const on: boolean = Number('1') === 1;
    const layer = new LayerNorm({ normalizedShape: 3, elementwiseAffine: on });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor | undefined>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor | undefined>();
    const options: LayerNormInputOptions = { normalizedShape: 3 };
    expectTypeOf(new LayerNorm(options).weight).toEqualTypeOf<Tensor | undefined>();
    const annotated: LayerNorm = new LayerNorm({ normalizedShape: 3 });
    expectTypeOf(annotated.weight).toEqualTypeOf<Tensor | undefined>();
    expect(layer.weight).toBeDefined();
  });

  it("bias: false keeps the weight (PyTorch 2.1's switch): weight is Tensor, bias undefined", () => {
    const layer = new LayerNorm({ normalizedShape: 3, bias: false });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.bias).toEqualTypeOf<undefined>();
    expect(layer.weight.shape).toEqual([3]);
    expect(layer.bias).toBeUndefined();
  });
});
