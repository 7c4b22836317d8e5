import { describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { tensor, toTypedArray } from '@normkit/core';
import type { Tensor, TensorJSON } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { expectCode } from '../test/errors.js';
import { weightNormFromWeight } from './layer.js';
import { linearFromPyTorchStateDict, linearToPyTorchStateDict } from './linear/pytorch.js';
import { fromPyTorchStateDict, toPyTorchStateDict } from './pytorch.js';
import { checkDtype, detectStyle, pytorchKeys } from './state-dict.js';

/** A JSON entry with float32-exact values (what PyTorch's float32 `.tolist()` gives). */
function entry(shape: number[], seed: number): TensorJSON {
  return { shape, data: Array.from(toTypedArray(randn(shape, seed, 'float32'))) };
}

/** Through JSON text, as a file written by Python and read by Node would be. */
function viaText<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('names', () => {
  it('legacy and parametrizations names, with and without a prefix', () => {
    expect(pytorchKeys('legacy')).toEqual({ g: 'weight_g', v: 'weight_v', bias: 'bias' });
    expect(pytorchKeys('parametrizations', { prefix: 'encoder.fc1' })).toEqual({
      g: 'encoder.fc1.parametrizations.weight.original0',
      v: 'encoder.fc1.parametrizations.weight.original1',
      bias: 'encoder.fc1.bias',
    });
    expect(pytorchKeys('legacy', { prefix: 'conv.', name: 'kernel' }).g).toBe('conv.kernel_g');
  });
});

describe('style detection and the dtype option', () => {
  it('detects the style from the names; refuses both, neither, or a bad style or dtype', () => {
    expect(detectStyle({ weight_g: 1 }, {})).toBe('legacy');
    expect(detectStyle({ 'parametrizations.weight.original1': 1 }, {})).toBe('parametrizations');
    expect(detectStyle({}, { style: 'legacy' })).toBe('legacy');
    expectCode(() => detectStyle({ weight_g: 1, 'parametrizations.weight.original0': 1 }, {}), 'E_STATE');
    expectCode(() => detectStyle({ bias: 1 }, {}), 'E_STATE');
    expectCode(() => detectStyle({}, { style: 'modern' as never }), 'E_OPTION');
    expect(checkDtype('float64')).toBe('float64');
    expectCode(() => checkDtype('int32'), 'E_OPTION');
  });
});

describe('bad state dicts → E_STATE', () => {
  const good = () => viaText({ weight_g: entry([5, 1], 1), weight_v: entry([5, 4], 2) });

  it.each([
    ['missing v', () => ({ weight_g: entry([5, 1], 1) })],
    ['missing g', () => ({ 'parametrizations.weight.original1': entry([5, 4], 2) })],
    ['nothing of ours', () => ({ bias: entry([5], 1) })],
    ['an extra entry', () => ({ ...good(), bias: entry([5], 3) })],
    ['both naming styles', () => ({ ...good(), 'parametrizations.weight.original0': entry([5, 1], 1) })],
    ['g misshapen', () => ({ ...good(), weight_g: entry([5], 1) })],
    ['v of another shape than options.shape', () => ({ ...good(), weight_v: entry([4, 5], 2) })],
    ['data length ≠ Π shape', () => ({ ...good(), weight_v: { shape: [5, 4], data: [1, 2, 3] } })],
    ['not {shape, data}', () => ({ ...good(), weight_v: [1, 2, 3] })],
    ['not an object', () => 'weight_g'],
  ])('%s', (_, make) => {
    expectCode(() => fromPyTorchStateDict(make(), { shape: [5, 4] }), 'E_STATE');
  });

  it('ignoreUnknown lets the rest of a model through; the prefix selects the module', () => {
    const model = viaText({
      'fc1.bias': entry([5], 1),
      'fc1.weight_g': entry([5, 1], 2),
      'fc1.weight_v': entry([5, 4], 3),
      'fc2.weight': entry([2, 5], 4),
    });
    expectCode(() => fromPyTorchStateDict(model, { prefix: 'fc1' }), 'E_STATE');
    const loaded = fromPyTorchStateDict(model, { prefix: 'fc1', ignoreUnknown: true });
    expect(loaded.params.v.shape).toEqual([5, 4]);
    const linear = linearFromPyTorchStateDict(model, { inFeatures: 4, outFeatures: 5, prefix: 'fc1', ignoreUnknown: true });
    expect(Array.from(toTypedArray(linear.params.bias as Tensor))).toEqual(model['fc1.bias'].data);
  });

  it('saving misshapen parameters → E_STATE; a bad dim → E_OPTION', () => {
    const { v, g } = weightNormFromWeight(randn([5, 4], 1));
    expectCode(() => toPyTorchStateDict({ v, g }, { dim: 1 }), 'E_STATE');
    expectCode(() => toPyTorchStateDict({ v }), 'E_STATE');
    expectCode(() => toPyTorchStateDict({ v, g }, { dim: 5 }), 'E_OPTION');
    expectCode(() => linearToPyTorchStateDict({ v, g }), 'E_STATE');
  });
});

describe('tensor entries (a safetensors file read with @normkit/io)', () => {
  it('loads tensors as it loads JSON: same values, copied, in the dtype asked for', () => {
    const g = randn([5, 1], 1, 'float32');
    const v = randn([5, 4], 2, 'float64');
    const dict = { 'fc.weight_g': g, 'fc.weight_v': v };
    const fromTensors = fromPyTorchStateDict(dict, { prefix: 'fc', dtype: 'float64' });
    const fromJSON = fromPyTorchStateDict(
      viaText({ 'fc.weight_g': { shape: [5, 1], data: Array.from(toTypedArray(g)) }, 'fc.weight_v': { shape: [5, 4], data: Array.from(toTypedArray(v)) } }),
      { prefix: 'fc', dtype: 'float64' },
    );
    expect(fromTensors.style).toBe('legacy');
    for (const name of ['v', 'g'] as const) {
      expect(fromTensors.params[name].shape).toEqual(fromJSON.params[name].shape);
      expect(fromTensors.params[name].data).toBeInstanceOf(Float64Array);
      expect(Array.from(toTypedArray(fromTensors.params[name]))).toEqual(Array.from(toTypedArray(fromJSON.params[name])));
    }
    // A copy: writing to the source does not reach the loaded parameters.
    const before = fromTensors.params.v.data[0];
    v.data[0] += 1;
    expect(fromTensors.params.v.data[0]).toBe(before);
    // float32 (the default) rounds a float64 entry to nearest.
    const f32 = fromPyTorchStateDict(dict, { prefix: 'fc' });
    expect(f32.params.v.data).toBeInstanceOf(Float32Array);
    expect(f32.params.v.data[1]).toBe(Math.fround(v.data[1]));
  });

  it('reads a strided tensor entry in row-major order', () => {
    // Shape (5, 4) with strides (1, 5) over 0 … 19: element (i, j) is 5·j + i.
    const buffer = Float64Array.from({ length: 20 }, (_, k) => k);
    const v = ndarray(buffer, [5, 4], [1, 5]);
    const g = tensor(new Float64Array([1, 2, 3, 4, 5]), [5, 1]);
    const loaded = fromPyTorchStateDict({ weight_g: g, weight_v: v }, { dtype: 'float64' });
    const expected: number[] = [];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) expected.push(5 * j + i);
    expect(Array.from(toTypedArray(loaded.params.v))).toEqual(expected);
  });

  it('a misshapen or broken tensor entry → E_STATE, as JSON', () => {
    const g = randn([5, 1], 1, 'float32');
    expectCode(() => fromPyTorchStateDict({ weight_g: randn([5], 1, 'float32'), weight_v: randn([5, 4], 2, 'float32') }, { shape: [5, 4] }), 'E_STATE');
    const outside = ndarray(new Float32Array(4), [5, 4]); // strides reach past its 4 values
    expectCode(() => fromPyTorchStateDict({ weight_g: g, weight_v: outside }), 'E_STATE');
    expect(() => fromPyTorchStateDict({ weight_g: g, weight_v: outside })).toThrow(/^state dict: weight_v: /);
  });
});
