import { describe, expect, it } from 'vitest';
import type { WeightNormLinearInputOptions } from './options.js';
import { linearForwardSpec, linearParamShapes, resolveWeightNormLinearOptions } from './options.js';
import { weightNormLinear } from './plugin.js';

describe('weight-norm-linear options', () => {
  it('defaults', () => {
    expect(resolveWeightNormLinearOptions({ inFeatures: 3, outFeatures: 2 })).toEqual({
      inFeatures: 3,
      outFeatures: 2,
      bias: true,
      eps: null,
      gInit: 'norm',
      seed: 0,
      initStd: 0.05,
    });
  });

  it('parameter shapes: v (out, in), g (out), bias (out) unless bias is false; the spec checks the last axis', () => {
    const options = resolveWeightNormLinearOptions({ inFeatures: 3, outFeatures: 2 });
    expect(linearParamShapes(options)).toEqual({ v: [2, 3], g: [2], bias: [2] });
    expect(linearParamShapes({ ...options, bias: false })).toEqual({ v: [2, 3], g: [2] });
    expect(weightNormLinear.create({ inFeatures: 3, outFeatures: 2, bias: false }).paramShapes()).toEqual({ v: [2, 3], g: [2] });
    const spec = linearForwardSpec(options);
    expect(spec.checkShape?.([7, 3])).toBeNull();
    expect(spec.checkShape?.([7, 2])).toMatch(/inFeatures = 3/);
  });

  it.each([
    ['missing inFeatures', { outFeatures: 2 }],
    ['zero outFeatures', { inFeatures: 3, outFeatures: 0 }],
    ['fractional inFeatures', { inFeatures: 2.5, outFeatures: 2 }],
    ['bias not boolean', { inFeatures: 3, outFeatures: 2, bias: 1 }],
    ['negative seed', { inFeatures: 3, outFeatures: 2, seed: -1 }],
    ['initStd 0', { inFeatures: 3, outFeatures: 2, initStd: 0 }],
    ['unknown key', { inFeatures: 3, outFeatures: 2, in_features: 3 }],
  ])('%s → E_OPTION (resolveOptions and create)', (_, input) => {
    expect(() => weightNormLinear.resolveOptions(input as unknown as WeightNormLinearInputOptions)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => weightNormLinear.create(input as unknown as WeightNormLinearInputOptions)).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
});
