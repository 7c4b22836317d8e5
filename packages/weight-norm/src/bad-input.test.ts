// Bad input to the weight-norm helpers and initializers: a NormkitError with a stable code that
// names the argument, and nothing changes. Each case was a TypeError, or a silently non-finite
// g / bias that the layer's own loadStateDict would then refuse (found by an error-path audit).
import { Buffer } from 'node:buffer';
import { fromArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { thrownError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { WeightNorm, WeightNormLinear, fromPyTorchStateDict, linearFromPyTorchStateDict, linearToPyTorchStateDict, toPyTorchStateDict, weightNormFromWeight } from './index.js';

const v = fromArray([1, 2, 3, 4], [2, 2]);
const g = fromArray([1, 1], [2, 1]);
const bytes = (t: Tensor | undefined) => (t === undefined ? '-' : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex'));

describe('weight-norm helpers refuse null or missing arguments with a NormkitError', () => {
  it.each([
    ['fromPyTorchStateDict({}, null)', () => fromPyTorchStateDict({}, null as never), 'E_OPTION', 'options: expected an object'],
    ['linearFromPyTorchStateDict({})', () => linearFromPyTorchStateDict({}, undefined as never), 'E_OPTION', 'options: expected an object { inFeatures, outFeatures'],
    ['toPyTorchStateDict(null)', () => toPyTorchStateDict(null as never), 'E_STATE', 'params: expected an object { v, g }, got null'],
    ['toPyTorchStateDict({ v, g }, null)', () => toPyTorchStateDict({ v, g }, null as never), 'E_OPTION', 'options: expected an object'],
    ['linearToPyTorchStateDict(null)', () => linearToPyTorchStateDict(null as never), 'E_STATE', 'params: expected an object { v, g, bias? }'],
    ['weightNormFromWeight(v, null)', () => weightNormFromWeight(v, null as never), 'E_OPTION', 'weight-norm options: expected an object'],
    ['new WeightNorm({ shape }, { dtyp })', () => new WeightNorm({ shape: [2, 2] }, { dtyp: 'float64' } as never), 'E_OPTION', 'expected only the keys dtype and weight, got "dtyp"'],
  ])('%s', (_what, call, code, message) => {
    const error = thrownError(call);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });
});

describe('non-finite values are refused where they enter, naming the argument', () => {
  it('a weight with NaN, or whose norm float32 cannot hold (3e38 · √2)', () => {
    const nan = fromArray([Number.NaN, 1, 2, 3, 4, 5], [2, 3]);
    expect(thrownError(() => new WeightNorm({ dim: 0 }, { weight: nan }))).toMatchObject({ code: 'E_NONFINITE', message: expect.stringContaining('init.weight: expected finite values, got NaN') });
    expect(thrownError(() => weightNormFromWeight(nan)).message).toContain('weight: expected finite values');
    const huge = fromArray([3e38, 3e38, 0, 1, 1, 1], [2, 3]);
    expect(thrownError(() => weightNormFromWeight(huge))).toMatchObject({ code: 'E_NONFINITE', message: expect.stringContaining('the norm of slice 0 is 4.24') });
    expect(Number.isFinite(weightNormFromWeight(huge, {}, 'float64').g.data[0])).toBe(true); // float64 holds it
    expect(weightNormFromWeight(huge, { gInit: 'one' }).g.data[0]).toBe(1); // no norm stored
  });

  it('a float64 weight with a value float32 cannot hold, made float32: refused naming the element (v was Infinity with gInit one)', () => {
    const w = fromArray([1e39, 1, 1, 1], [2, 2], 'float64');
    for (const gInit of ['one', 'norm'] as const) {
      expect(thrownError(() => weightNormFromWeight(w, { gInit }, 'float32'))).toMatchObject({ code: 'E_NONFINITE', message: expect.stringContaining('weight: 1e+39 at [0, 0] is more than float32 holds') });
    }
    const dict = { 'parametrizations.weight.original0': { shape: [2, 1], data: [1e39, 1] }, 'parametrizations.weight.original1': { shape: [2, 2], data: [1, 2, 3, 4] } };
    expect(thrownError(() => fromPyTorchStateDict(dict)).message).toContain("got 1e+39, more than float32 holds (load it with dtype: 'float64') at [0, 0]");
  });

  it('a PyTorch state dict entry with NaN', () => {
    const dict = { 'parametrizations.weight.original0': { shape: [2, 1], data: [1, Number.NaN] }, 'parametrizations.weight.original1': { shape: [2, 2], data: [1, 2, 3, 4] } };
    expect(thrownError(() => fromPyTorchStateDict(dict))).toMatchObject({ code: 'E_NONFINITE', message: expect.stringContaining('parametrizations.weight.original0 expected finite float32 values, got NaN at [1, 0]') });
  });

  it('initFromBatch: NaN in x is E_NONFINITE (was E_DEGENERATE "standard deviation NaN"); a g = 1/σ above float32 is refused; the layer is unchanged', () => {
    const fc = new WeightNormLinear({ inFeatures: 3, outFeatures: 2 });
    const before = [fc.params.v, fc.params.g, fc.params.bias].map(bytes).join('|');
    const withNaN = fromArray([Number.NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [4, 3]);
    expect(thrownError(() => fc.initFromBatch(withNaN))).toMatchObject({ code: 'E_NONFINITE', message: expect.stringContaining('x: expected finite values, got NaN') });
    const tiny = fromArray([1e-39, -2e-39, 3e-39, -1e-39, 2e-39, -3e-39, 2e-39, 1e-39, -1e-39, -2e-39, -1e-39, 2e-39], [4, 3]);
    expect(thrownError(() => fc.initFromBatch(tiny))).toMatchObject({ code: 'E_NONFINITE', message: expect.stringContaining('which float32 cannot hold') });
    expect([fc.params.v, fc.params.g, fc.params.bias].map(bytes).join('|')).toBe(before);
  });
});
