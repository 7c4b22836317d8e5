// Type tests: what BatchRenorm types as present follows its options (checked by `tsc -p tsconfig.test.json`,
// part of `npm test`; an unused `@ts-expect-error` fails it). The runtime assertions check that the
// types tell the truth.
import type { Tensor } from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { BatchRenorm } from './layer.js';
import type { BatchRenormInputOptions } from './options.js';

describe('BatchRenorm: parameters and state typed by the options', () => {
  it('with the defaults, what exists is typed Tensor (no ! needed), and exists', () => {
    const layer = new BatchRenorm({ numFeatures: 3 });
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
    expectTypeOf(layer.runningMean).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.state.runningMean).toEqualTypeOf<Tensor>();
    expect(layer.runningMean.shape).toEqual([3]);
    expectTypeOf(layer.runningVar).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.state.runningVar).toEqualTypeOf<Tensor>();
    expect(layer.runningVar.shape).toEqual([3]);
  });

  it('with the switches flipped (affine: false), the types flip too', () => {
    const layer = new BatchRenorm({ numFeatures: 3, affine: false });
    expectTypeOf(layer.weight).toEqualTypeOf<undefined>();
    expect(layer.weight).toBeUndefined();
    expectTypeOf(layer.bias).toEqualTypeOf<undefined>();
    expect(layer.bias).toBeUndefined();
    expectTypeOf(layer.runningMean).toEqualTypeOf<Tensor>();
    expect(layer.runningMean).toBeDefined();
    expectTypeOf(layer.runningVar).toEqualTypeOf<Tensor>();
    expect(layer.runningVar).toBeDefined();
  });

  it('options whose type does not tell (a boolean variable, or the options type) leave Tensor | undefined', () => {
    const on: boolean = Number('1') === 1;
    const layer = new BatchRenorm({ numFeatures: 3, affine: on });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor | undefined>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor | undefined>();
    const options: BatchRenormInputOptions = { numFeatures: 3 };
    expectTypeOf(new BatchRenorm(options).weight).toEqualTypeOf<Tensor | undefined>();
    const annotated: BatchRenorm = new BatchRenorm({ numFeatures: 3 });
    expectTypeOf(annotated.weight).toEqualTypeOf<Tensor | undefined>();
    expect(layer.weight).toBeDefined();
  });
});
