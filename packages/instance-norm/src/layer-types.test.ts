// Type tests: what InstanceNorm types as present follows its options (checked by `tsc -p tsconfig.test.json`,
// part of `npm test`; an unused `@ts-expect-error` fails it). The runtime assertions check that the
// types tell the truth.
import type { Tensor } from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { InstanceNorm } from './layer.js';
import type { InstanceNormInputOptions } from './options.js';

describe('InstanceNorm: parameters and state typed by the options', () => {
  it('with the defaults, what exists is typed Tensor (no ! needed), and exists', () => {
    const layer = new InstanceNorm({ numFeatures: 3 });
    expectTypeOf(layer.weight).toEqualTypeOf<undefined>();
    expect(layer.weight).toBeUndefined();
    expectTypeOf(layer.bias).toEqualTypeOf<undefined>();
    expect(layer.bias).toBeUndefined();
    expectTypeOf(layer.runningMean).toEqualTypeOf<undefined>();
    expect(layer.runningMean).toBeUndefined();
    expectTypeOf(layer.runningVar).toEqualTypeOf<undefined>();
    expect(layer.runningVar).toBeUndefined();
  });

  it('with the switches flipped (affine: true, trackRunningStats: true), the types flip too', () => {
    const layer = new InstanceNorm({ numFeatures: 3, affine: true, trackRunningStats: true });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor>();
    expect(layer.weight).toBeDefined();
    expectTypeOf(layer.bias).toEqualTypeOf<Tensor>();
    expect(layer.bias).toBeDefined();
    expectTypeOf(layer.runningMean).toEqualTypeOf<Tensor>();
    expect(layer.runningMean).toBeDefined();
    expectTypeOf(layer.runningVar).toEqualTypeOf<Tensor>();
    expect(layer.runningVar).toBeDefined();
  });

  it('options whose type does not tell (a boolean variable, or the options type) leave Tensor | undefined', () => {
    const on: boolean = Number('1') === 1;
    const layer = new InstanceNorm({ numFeatures: 3, affine: on });
    expectTypeOf(layer.weight).toEqualTypeOf<Tensor | undefined>();
    expectTypeOf(layer.params.weight).toEqualTypeOf<Tensor | undefined>();
    const options: InstanceNormInputOptions = { numFeatures: 3 };
    expectTypeOf(new InstanceNorm(options).weight).toEqualTypeOf<Tensor | undefined>();
    const annotated: InstanceNorm = new InstanceNorm({ numFeatures: 3 });
    expectTypeOf(annotated.weight).toEqualTypeOf<Tensor | undefined>();
    expect(layer.weight).toBeDefined();
  });
});
