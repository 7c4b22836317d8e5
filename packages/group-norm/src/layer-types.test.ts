// Type tests: what GroupNorm types as present follows its options (checked by `tsc -p tsconfig.test.json`,
// part of `npm test`; an unused `@ts-expect-error` fails it). The runtime assertions check that the
// types tell the truth.
import type { Tensor } from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { GroupNorm } from './layer.js';
import type { GroupNormInputOptions } from './options.js';

describe('GroupNorm: parameters and state typed by the options', () => {
  it('with the defaults, what exists is typed Tensor (no ! needed), and exists', () => {
    const layer = new GroupNorm({ numGroups: 1, numChannels: 3 });
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

  it('with the switches flipped (affine: false), the types flip too', () => {
    const layer = new GroupNorm({ numGroups: 1, numChannels: 3, affine: false });
    expectTypeOf(layer.weight).toEqualTypeOf<undefined>();
    expect(layer.weight).toBeUndefined();
    expectTypeOf(layer.bias).toEqualTypeOf<undefined>();
    expect(layer.bias).toBeUndefined();
  });

  it('options whose type does not tell (a boolean variable, or the options type) leave Tensor | undefined', () => {
    const on: boolean = Number('1') === 1;
    const layer = new GroupNorm({ numGroups: 1, numChannels: 3, affine: on });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor | undefined>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor | undefined>();
    const options: GroupNormInputOptions = { numGroups: 1, numChannels: 3 };
    expectTypeOf(new GroupNorm(options).weight).toEqualTypeOf<Tensor | undefined>();
    const annotated: GroupNorm = new GroupNorm({ numGroups: 1, numChannels: 3 });
    expectTypeOf(annotated.weight).toEqualTypeOf<Tensor | undefined>();
    expect(layer.weight).toBeDefined();
  });
});
