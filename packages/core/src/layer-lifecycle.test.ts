// Layer behaviours across calls: one backward per forward (unless retainSaved), to(dtype),
// resetRunningStats() and resetParameters(). Values are exact: the mean-center fixture adds
// and subtracts small integers, which float32 and float64 represent exactly.
import { describe, expect, it } from 'vitest';
import { meanCenter } from '../test/fixtures/mean-center.js';
import { NormkitError } from './errors.js';
import { Layer } from './layer.js';
import { toArray } from './nested.js';
import { dtypeOf, fromArray } from './tensor.js';
import type { Tensor } from './tensor.js';

function errorOf(fn: () => unknown): NormkitError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  return undefined;
}

const values = [1, 2, 3, 4, 5, 6, 7, 8];
const dyValues = [1, 0, 2, 0, 3, 0, 4, 1];

function trained(dtype: 'float32' | 'float64' = 'float64') {
  const layer = new Layer(meanCenter, { numFeatures: 2, momentum: 0.5 }, { dtype });
  layer.forward(fromArray(values, [4, 2], dtype));
  return layer;
}

describe('Layer.backward: once per forward, as PyTorch', () => {
  it('a second backward on the same forward throws E_STATE naming retainSaved, and adds nothing', () => {
    const layer = trained();
    const dy = fromArray(dyValues, [4, 2], 'float64');
    layer.backward(dy);
    expect(toArray(layer.grads.bias as Tensor)).toEqual([10, 1]); // Σ dy per channel
    const error = errorOf(() => layer.backward(dy));
    expect(error?.code).toBe('E_STATE');
    expect(error?.message).toContain('retainSaved');
    expect(error?.message).toContain('call forward again');
    expect(toArray(layer.grads.bias as Tensor)).toEqual([10, 1]);
  });

  it('with { retainSaved: true } the saved values stay, and gradients add up exactly', () => {
    const layer = trained();
    const dy = fromArray(dyValues, [4, 2], 'float64');
    const first = toArray(layer.backward(dy, { retainSaved: true }));
    const second = toArray(layer.backward(dy, { retainSaved: true }));
    expect(second).toEqual(first);
    layer.backward(dy); // the last one releases them
    expect(toArray(layer.grads.bias as Tensor)).toEqual([30, 3]);
    expect(errorOf(() => layer.backward(dy))?.code).toBe('E_STATE');
  });

  it('a new forward call allows backward again', () => {
    const layer = trained();
    const dy = fromArray(dyValues, [4, 2], 'float64');
    layer.backward(dy);
    layer.forward(fromArray(values, [4, 2], 'float64'));
    expect(toArray(layer.backward(dy))).toEqual([[-1.5, -0.25], [-0.5, -0.25], [0.5, -0.25], [1.5, 0.75]]);
  });

  it('a backward that throws keeps the saved values (a corrected call works)', () => {
    const layer = trained();
    expect(errorOf(() => layer.backward(fromArray([1, 2, 3], [3, 1], 'float64')))?.code).toBe('E_SHAPE');
    expect(toArray(layer.backward(fromArray(dyValues, [4, 2], 'float64')))).toEqual([[-1.5, -0.25], [-0.5, -0.25], [0.5, -0.25], [1.5, 0.75]]);
  });

  it('takes out as the second argument or as { out }, and refuses other options with E_OPTION', () => {
    const layer = trained();
    const dy = fromArray(dyValues, [4, 2], 'float64');
    const out = fromArray(new Array<number>(8).fill(0), [4, 2], 'float64');
    expect(layer.backward(dy, { out, retainSaved: true }).data).toBe(out.data);
    const out2 = fromArray(new Array<number>(8).fill(0), [4, 2], 'float64');
    expect(layer.backward(dy, out2).data).toBe(out2.data);
    layer.forward(fromArray(values, [4, 2], 'float64'));
    expect(errorOf(() => layer.backward(dy, { retainSaved: 'yes' as never }))?.code).toBe('E_OPTION');
    expect(errorOf(() => layer.backward(dy, 3 as never))?.code).toBe('E_OPTION');
    // an integer view as out is reported (E_DTYPE), not read as an options object and ignored
    const intOut = { data: new Int32Array(8), shape: [4, 2], stride: [2, 1], offset: 0 };
    expect(errorOf(() => layer.backward(dy, intOut as never))?.code).toBe('E_DTYPE');
    expect(toArray(layer.grads.bias as Tensor)).toEqual([20, 2]); // the refused calls added nothing
  });
});

describe('Layer.to(dtype)', () => {
  it('converts parameters, state and gradients, keeps their values, and keeps the grads object', () => {
    const layer = trained('float32');
    layer.backward(fromArray(dyValues, [4, 2], 'float32'));
    const grads = layer.grads;
    expect(layer.to('float64')).toBe(layer);
    expect(layer.dtype).toBe('float64');
    expect(layer.grads).toBe(grads);
    for (const t of [layer.params.bias, layer.state.runningMean, layer.grads.bias] as Tensor[]) expect(dtypeOf(t)).toBe('float64');
    expect(toArray(layer.state.runningMean as Tensor)).toEqual([2, 2.5]);
    expect(toArray(layer.grads.bias as Tensor)).toEqual([10, 1]);
    // float64 input now works; before, it was E_DTYPE
    expect(toArray(layer.forward(fromArray(values, [4, 2], 'float64')))).toEqual([[-3, -3], [-1, -1], [1, 1], [3, 3]]);
  });

  it('float64 → float32 rounds to nearest', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    layer.loadStateDict({ bias: fromArray([0.1, 1 / 3], 'float64'), runningMean: fromArray([0, 0], 'float64') });
    layer.to('float32');
    expect(Array.from((layer.params.bias as Tensor).data)).toEqual([Math.fround(0.1), Math.fround(1 / 3)]);
  });

  it('float64 → float32 refuses a finite value that would overflow to Infinity (E_NONFINITE naming the entry), changing nothing; NaN already there stays', () => {
    for (const [entry, dict] of [
      ['params.bias[1]', { bias: fromArray([1, -1e40], 'float64'), runningMean: fromArray([0, 0], 'float64') }],
      ['state.runningMean[0]', { bias: fromArray([1, 2], 'float64'), runningMean: fromArray([4e38, 0], 'float64') }],
    ] as const) {
      const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
      layer.loadStateDict(dict);
      const params = layer.params;
      const state = layer.state;
      const error = errorOf(() => layer.to('float32'));
      expect(error?.code).toBe('E_NONFINITE');
      expect(error?.message).toContain(`Layer.to('float32'): ${entry} is `);
      expect(error?.message).toContain('which float32 cannot hold (it would become');
      expect(layer.dtype).toBe('float64');
      expect(layer.params).toBe(params);
      expect(layer.state).toBe(state);
      expect(dtypeOf(layer.grads.bias as Tensor)).toBe('float64');
    }
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    (layer.grads.bias as Tensor).data[0] = Number.NaN;
    layer.to('float32');
    expect(Number.isNaN((layer.grads.bias as Tensor).data[0])).toBe(true);
  });

  it('releases the saved values of the last forward: backward needs a new forward', () => {
    const layer = trained('float32');
    layer.to('float64');
    expect(errorOf(() => layer.backward(fromArray(dyValues, [4, 2], 'float64')))?.code).toBe('E_STATE');
  });

  it('to the dtype it has changes nothing; a bad dtype throws E_OPTION and changes nothing', () => {
    const layer = trained('float64');
    const params = layer.params;
    expect(layer.to('float64').params).toBe(params);
    expect(toArray(layer.backward(fromArray(dyValues, [4, 2], 'float64')))).toHaveLength(4); // saved kept
    expect(errorOf(() => layer.to('float16' as never))?.code).toBe('E_OPTION');
    expect(layer.dtype).toBe('float64');
    expect(layer.params).toBe(params);
  });
});

describe('resetRunningStats() and resetParameters(), as PyTorch', () => {
  it('resetRunningStats() restores the initial state and keeps parameters and gradients', () => {
    const layer = trained();
    layer.loadStateDict({ bias: fromArray([5, 6], 'float64') }, { strict: false });
    layer.backward(fromArray(dyValues, [4, 2], 'float64'));
    expect(toArray(layer.state.runningMean as Tensor)).toEqual([2, 2.5]);
    expect(layer.resetRunningStats()).toBe(layer);
    expect(toArray(layer.state.runningMean as Tensor)).toEqual([0, 0]);
    expect(toArray(layer.params.bias as Tensor)).toEqual([5, 6]);
    expect(toArray(layer.grads.bias as Tensor)).toEqual([10, 1]);
  });

  it('resetParameters() restores the initial parameters and state, in the layer’s dtype, and keeps gradients', () => {
    const layer = trained('float32');
    layer.loadStateDict({ bias: fromArray([5, 6], 'float32') }, { strict: false });
    layer.backward(fromArray(dyValues, [4, 2], 'float32'));
    layer.to('float64');
    expect(layer.resetParameters()).toBe(layer);
    expect(toArray(layer.params.bias as Tensor)).toEqual([0, 0]);
    expect(toArray(layer.state.runningMean as Tensor)).toEqual([0, 0]);
    expect(dtypeOf(layer.params.bias as Tensor)).toBe('float64');
    expect(toArray(layer.grads.bias as Tensor)).toEqual([10, 1]);
  });
});

describe('loadStateDict of something that is not a dict', () => {
  it('refuses null, an array and a bare tensor with E_STATE saying what came (an array was read as entries "0", "1")', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    const params = layer.params;
    for (const [dict, got] of [
      [null, 'got null'],
      [[1, 2], 'got an array of length 2'],
      [fromArray([1, 2], 'float64'), 'got a tensor'],
    ] as const) {
      const error = errorOf(() => layer.loadStateDict(dict as never));
      expect(error?.code).toBe('E_STATE');
      expect(error?.message).toBe(`loadStateDict: expected an object of tensors by name, ${got}`);
    }
    expect(layer.params).toBe(params);
  });
});
