// Type tests: WeightNorm's g and WeightNormLinear's v, g (and bias, by its option) are typed
// present (checked by `tsc -p tsconfig.test.json`, part of `npm test`). The runtime
// assertions check that the types tell the truth.
import { fromArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { WeightNorm } from './layer.js';
import { WeightNormLinear } from './linear/layer.js';

describe('weight-norm layers: parameters typed by the options', () => {
  it('WeightNorm always has g and its gradient', () => {
    const layer = new WeightNorm({ dim: 0 }, { weight: fromArray([3, 4, 0, 2], [2, 2]) });
    expectTypeOf(layer.params.g).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.grads.g).toEqualTypeOf<Tensor>();
    expect(Array.from(layer.params.g.data)).toEqual([5, 2]);
    expect(layer.grads.g.shape).toEqual(layer.params.g.shape);
  });

  it('WeightNormLinear has v and g, and bias unless bias: false', () => {
    const fc = new WeightNormLinear({ inFeatures: 2, outFeatures: 3 });
    expectTypeOf(fc.params.v).toEqualTypeOf<Tensor>();
    expectTypeOf(fc.params.g).toEqualTypeOf<Tensor>();
    expectTypeOf(fc.params.bias).toEqualTypeOf<Tensor>();
    expectTypeOf(fc.grads.bias).toEqualTypeOf<Tensor>();
    expect(fc.params.v.shape).toEqual([3, 2]);
    expect(fc.params.bias.shape).toEqual([3]);
    const noBias = new WeightNormLinear({ inFeatures: 2, outFeatures: 3, bias: false });
    expectTypeOf(noBias.params.bias).toEqualTypeOf<Tensor | undefined>();
    expect(noBias.params.bias).toBeUndefined();
  });
});
