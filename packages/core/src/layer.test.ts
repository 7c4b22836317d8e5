import { describe, expect, it } from 'vitest';
import { meanCenter } from '../test/fixtures/mean-center.js';
import { Layer } from './layer.js';
import { NormkitError } from './errors.js';
import { fromArray, zeros } from './tensor.js';
import type { Tensor } from './tensor.js';

function bytesOf(layer: { stateDict(): Record<string, Tensor> }): string {
  const dict = layer.stateDict();
  return JSON.stringify(Object.entries(dict).map(([k, t]) => [k, Array.from(new Uint8Array(t.data.buffer))]));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof NormkitError ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

const x = fromArray([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'float64');

describe('Layer over a user-written plugin', () => {
  it('starts in train mode, updates running statistics, and freezes them in eval mode', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2, momentum: 0.5 }, { dtype: 'float64' });
    expect(layer.training).toBe(true);
    const y = layer.forward(x);
    // channel means are 4 and 5
    expect(Array.from(y.data)).toEqual([-3, -3, -1, -1, 1, 1, 3, 3]);
    expect(Array.from((layer.state.runningMean as Tensor).data)).toEqual([2, 2.5]);
    layer.eval();
    expect(layer.mode).toBe('eval');
    const yEval = layer.forward(x);
    expect(Array.from(yEval.data)).toEqual([-1, -0.5, 1, 1.5, 3, 3.5, 5, 5.5]);
    expect(Array.from((layer.state.runningMean as Tensor).data)).toEqual([2, 2.5]);
  });

  it('accumulates gradients across backward calls until zeroGrad', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    layer.forward(x);
    const dy = fromArray([1, 0, 2, 0, 3, 0, 4, 1], [4, 2], 'float64');
    const dx = layer.backward(dy, { retainSaved: true });
    // train: dx = dy − mean_c(dy): channel 0 mean 2.5, channel 1 mean 0.25
    expect(Array.from(dx.data)).toEqual([-1.5, -0.25, -0.5, -0.25, 0.5, -0.25, 1.5, 0.75]);
    layer.backward(dy);
    expect(Array.from((layer.grads.bias as Tensor).data)).toEqual([20, 2]);
    layer.zeroGrad();
    expect(Array.from((layer.grads.bias as Tensor).data)).toEqual([0, 0]);
  });

  it('refuses backward before forward with E_STATE', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 });
    expect(codeOf(() => layer.backward(zeros([4, 2], 'float64')))).toBe('E_STATE');
  });

  it('defaults to float32 parameters, as PyTorch and TF.js do', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 });
    expect(layer.dtype).toBe('float32');
    expect((layer.params.bias as Tensor).data).toBeInstanceOf(Float32Array);
  });

  it('round-trips its state dict, and the dict is a copy', () => {
    const a = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    a.forward(x);
    const dict = a.stateDict();
    expect(Object.keys(dict)).toEqual(['bias', 'runningMean']);
    const b = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    b.loadStateDict(dict);
    expect(bytesOf(b)).toBe(bytesOf(a));
    dict.runningMean.data[0] = 99;
    expect((b.state.runningMean as Tensor).data[0]).not.toBe(99);
    expect((a.state.runningMean as Tensor).data[0]).not.toBe(99);
  });

  it('rejects bad state dicts with a stable code and changes nothing', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    layer.forward(x);
    const before = bytesOf(layer);
    const good = layer.stateDict();
    const cases: [string, unknown, string][] = [
      ['missing entry', { bias: good.bias }, 'E_STATE'],
      ['extra entry', { ...good, extra: zeros([2], 'float64') }, 'E_STATE'],
      ['misshapen entry', { ...good, bias: zeros([3], 'float64') }, 'E_STATE'],
      ['wrong dtype', { ...good, bias: zeros([2], 'float32') }, 'E_STATE'],
      ['plain array', { ...good, bias: [0, 0] }, 'E_STATE'],
      ['NaN value', { ...good, runningMean: fromArray([0, NaN], 'float64') }, 'E_NONFINITE'],
      ['__proto__ key', JSON.parse('{"__proto__": {"shape": [2]}, "bias": 1}'), 'E_STATE'],
      ['constructor key', { ...good, constructor: zeros([2], 'float64') }, 'E_STATE'],
      ['not an object', null, 'E_STATE'],
    ];
    for (const [, dict, code] of cases) {
      expect(codeOf(() => layer.loadStateDict(dict as never))).toBe(code);
      expect(bytesOf(layer)).toBe(before);
    }
    expect(() => layer.loadStateDict({ ...good, bias: zeros([2], 'float32') })).toThrow(
      "loadStateDict: bias expected dtype float64, got float32 (convert it with toDtype(t, 'float64'), or move the layer with layer.to('float32'))",
    );
    // non-strict loading accepts a subset
    layer.loadStateDict({ bias: fromArray([1, 2], 'float64') }, { strict: false });
    expect(Array.from((layer.params.bias as Tensor).data)).toEqual([1, 2]);
  });

  it('leaves state untouched when forward throws', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    layer.forward(x);
    const before = bytesOf(layer);
    expect(codeOf(() => layer.forward(zeros([4, 3], 'float64')))).toBe('E_SHAPE');
    expect(codeOf(() => layer.forward([1, 2] as never))).toBe('E_DTYPE');
    expect(bytesOf(layer)).toBe(before);
  });

  it('rejects bad options with E_OPTION naming the option', () => {
    expect(codeOf(() => new Layer(meanCenter, { numFeatures: 0 }))).toBe('E_OPTION');
    expect(codeOf(() => new Layer(meanCenter, { numFeatures: 2, momentum: 2 }))).toBe('E_OPTION');
    expect(codeOf(() => new Layer(meanCenter, { numFeatures: 2, momentun: 0.1 } as never))).toBe('E_OPTION');
    expect(codeOf(() => new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'int32' as never }))).toBe('E_OPTION');
    try {
      new Layer(meanCenter, { numFeatures: 2, momentum: -1 });
    } catch (e) {
      expect((e as NormkitError).argument).toBe('options.momentum');
      expect((e as Error).message).toContain('got -1');
    }
  });
});

describe('Layer edge cases found by a second read', () => {
  it('reports NaN in a plain ndarray-like object and a null options bag with NormkitErrors', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    const plain = { data: new Float64Array([0, NaN]), shape: [2], stride: [1], offset: 0 };
    expect(codeOf(() => layer.loadStateDict({ ...layer.stateDict(), runningMean: plain as never }))).toBe('E_NONFINITE');
    expect(codeOf(() => layer.loadStateDict(layer.stateDict(), null as never))).toBe('E_OPTION');
  });

  it('differentiates the forward call it saved, even if parameters were replaced in between', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    layer.forward(x);
    const params = layer.params;
    layer.loadStateDict({ ...layer.stateDict(), bias: fromArray([5, 5], 'float64') });
    expect(layer.params).not.toBe(params);
    const dx = layer.backward(fromArray([1, 0, 0, 0, 0, 0, 0, 0], [4, 2], 'float64'));
    expect(Array.from(dx.data)).toEqual([0.75, 0, -0.25, 0, -0.25, 0, -0.25, 0]);
  });
});

describe('first-hour fixes (an audit as a Keras / TF.js user)', () => {
  it("forward(x, { training: false }) says the mode is the layer's, and changes nothing", () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    const before = layer.stateDict();
    for (const options of [{ training: false }, { mode: 'eval' }]) {
      try {
        layer.forward(x, options as never);
        expect.unreachable();
      } catch (e) {
        expect((e as NormkitError).code).toBe('E_OPTION');
        expect((e as NormkitError).message).toMatch(/^forward\(x, out\): the second argument is a preallocated output tensor, got .*; the mode is the layer's: call layer\.eval\(\) \(or layer\.train\(\)\) before forward$/);
      }
    }
    expect(layer.stateDict()).toEqual(before);
    // Anything else in out's place is still the plugin's to refuse.
    expect(codeOf(() => layer.forward(x, { shape: [4, 2] } as never))).not.toBe('E_OPTION');
  });
});

describe('first-hour fixes (an audit as a PyTorch user)', () => {
  it('refuses an init that is not { dtype }, with a hint for a bare dtype string', () => {
    const bare = (() => {
      try {
        new Layer(meanCenter, { numFeatures: 2 }, 'float64' as never);
      } catch (e) {
        return e as NormkitError;
      }
      return null;
    })();
    expect(bare?.code).toBe('E_OPTION');
    expect(bare?.message).toBe(`Layer init: expected an object { dtype }, got "float64" (write { dtype: 'float64' })`);
    expect(codeOf(() => new Layer(meanCenter, { numFeatures: 2 }, null as never))).toBe('E_OPTION');
    expect(codeOf(() => new Layer(meanCenter, { numFeatures: 2 }, { device: 'cpu' } as never))).toBe('E_OPTION');
    expect(new Layer(meanCenter, { numFeatures: 2 }, {}).dtype).toBe('float32');
  });

  it('train(false) is eval(), as PyTorch’s module.train(False); a non-boolean is refused and changes nothing', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    expect(layer.train(false).mode).toBe('eval');
    expect(layer.train().mode).toBe('train');
    expect(layer.train(false).train(true).mode).toBe('train');
    expect(codeOf(() => layer.train('eval' as never))).toBe('E_OPTION');
    expect(layer.mode).toBe('train');
  });

  it('backward after to() says that to() released the saved values', () => {
    const layer = new Layer(meanCenter, { numFeatures: 2 }, { dtype: 'float64' });
    layer.forward(x);
    layer.to('float32');
    try {
      layer.backward(zeros([4, 2], 'float32'));
      expect.unreachable();
    } catch (e) {
      expect((e as NormkitError).code).toBe('E_STATE');
      expect((e as Error).message).toBe('Layer.backward: Layer.to changed the dtype after the last forward call and released its saved values; call forward again');
    }
    // A new forward in the new dtype differentiates as usual.
    layer.forward(fromArray([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'float32'));
    expect(Array.from(layer.backward(fromArray([1, 0, 0, 0, 0, 0, 0, 0], [4, 2], 'float32')).data)).toEqual([0.75, 0, -0.25, 0, -0.25, 0, -0.25, 0]);
  });

  it('every bound plugin refuses a bad init dtype and a missing arguments object with NormkitErrors (no TypeError)', () => {
    const bound = meanCenter.create({ numFeatures: 2 });
    for (const dtype of ['int8', 'float16', null]) {
      try {
        bound.init(dtype as never);
        expect.unreachable();
      } catch (e) {
        expect((e as NormkitError).code).toBe('E_OPTION');
        expect((e as Error).message).toBe(`mean-center init dtype: expected 'float32' or 'float64', got ${dtype === null ? 'null' : `"${dtype}"`}`);
      }
    }
    expect(bound.init().params.bias?.data).toBeInstanceOf(Float32Array);
    expect(codeOf(() => bound.forward(undefined as never))).toBe('E_STATE');
    expect(codeOf(() => bound.backward(null as never))).toBe('E_STATE');
    try {
      bound.backward(null as never);
    } catch (e) {
      expect((e as Error).message).toBe('mean-center backward: expected an arguments object { dy, params, saved }, got null');
    }
  });

});
