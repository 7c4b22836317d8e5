// Type tests of the bound-normalizer contract on the real plugins. `tsc -p tsconfig.test.json`
// (part of `npm test`) checks every expectTypeOf and fails on an unused `@ts-expect-error`, so
// each line marked with it must stay a type error. At run time expectTypeOf does nothing; the
// runtime assertions check what is observable.
import { createRegistry, fromArray } from '@normkit/core';
import type { BoundNormalizer, Normalizer, NormSaved, OptionsOf, Tensor } from '@normkit/core';
import { layerNorm } from '@normkit/layer-norm';
import type { LayerNormOptions, LayerNormTypes } from '@normkit/layer-norm';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { BatchNorm } from './layer.js';
import type { BatchNormInputOptions, BatchNormOptions } from './options.js';
import type { BatchNormTypes } from './plugin.js';
import { batchNorm } from './plugin.js';

describe('types', () => {
  it('createRegistry([batchNorm, layerNorm]).get(name) has each plugin’s precise type', () => {
    const registry = createRegistry([batchNorm, layerNorm]);
    const ln = registry.get('layer-norm');
    expectTypeOf(ln).toEqualTypeOf<typeof layerNorm>();
    expectTypeOf(ln).toEqualTypeOf<Normalizer<LayerNormTypes>>();
    expectTypeOf(registry.get('batch-norm')).toEqualTypeOf<Normalizer<BatchNormTypes>>();
    expectTypeOf(ln.create({ normalizedShape: [2] }).options).toEqualTypeOf<LayerNormOptions>();
    expectTypeOf(ln.meta.name).toEqualTypeOf<'layer-norm'>();
    expect(ln).toBe(layerNorm);
    expect(registry.list()).toEqual(['batch-norm', 'layer-norm']);
  });

  it('the old call registry.get(name).forward(args, options) no longer compiles, nor do options passed to a bound forward', () => {
    const registry = createRegistry([batchNorm, layerNorm]);
    const ln = registry.get('layer-norm').create({ normalizedShape: [2] });
    const { params, state } = ln.init('float64');
    const args = { x: fromArray([1, 3, 2, 6], [2, 2], 'float64'), params, state, mode: 'train' as const };
    // @ts-expect-error plugins have no forward: options are bound by create(options)
    expect(() => registry.get('layer-norm').forward(args, { normalizedShape: [2], elementwiseAffine: true, bias: true })).toThrow(TypeError);
    // @ts-expect-error a bound normalizer's forward takes its arguments only
    const late = ln.forward(args, { normalizedShape: [2], elementwiseAffine: true, bias: true });
    // (at run time the extra argument is ignored: the options bound at creation are used)
    expect(Array.from(late.y.data)).toEqual(Array.from(ln.forward(args).y.data));
    // @ts-expect-error create checks the input options: normalizedShape is required
    expect(() => registry.get('layer-norm').create({ eps: 1e-5 })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    // @ts-expect-error batch norm's options are not layer norm's
    expect(() => registry.get('batch-norm').create({ normalizedShape: [2] })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });

  it('BoundNormalizer of batch norm has options: BatchNormOptions, and its forward/backward are typed', () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    expectTypeOf(bn).toEqualTypeOf<BoundNormalizer<BatchNormTypes>>();
    expectTypeOf(bn.options).toEqualTypeOf<BatchNormOptions>();
    expectTypeOf<BoundNormalizer<BatchNormTypes>['options']>().toEqualTypeOf<BatchNormOptions>();
    expectTypeOf<OptionsOf<typeof batchNorm>>().toEqualTypeOf<BatchNormOptions>();
    expectTypeOf(batchNorm.create).parameter(0).toEqualTypeOf<BatchNormInputOptions>();
    const { params, state } = bn.init('float64');
    expectTypeOf(state.runningMean).toEqualTypeOf<Tensor | undefined>();
    const result = bn.forward({ x: fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float64'), params, state, mode: 'train' });
    expectTypeOf(result.saved).toEqualTypeOf<NormSaved>();
    expectTypeOf(result.state.numBatchesTracked).toEqualTypeOf<Tensor | undefined>();
    const layer = new BatchNorm({ numFeatures: 3 });
    expectTypeOf(layer.options).toEqualTypeOf<BatchNormOptions>();
    expectTypeOf(layer.normalizer).toEqualTypeOf<BoundNormalizer<BatchNormTypes>>();
    // @ts-expect-error momentum is a number or null
    expect(() => batchNorm.create({ numFeatures: 3, momentum: '0.1' })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(bn.options).toEqual({ numFeatures: 3, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true, channelAxis: 1, unbiasedRunningVar: true });
  });
});
