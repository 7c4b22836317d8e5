import ndarray from 'ndarray';
import { fromArray, isNormkitError, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from './layer.js';
import { batchNorm } from './plugin.js';

function bytes(t: Tensor | undefined): string {
  return t === undefined ? '-' : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
}

function snapshot(layer: BatchNorm): string {
  return [layer.weight, layer.bias, layer.runningMean, layer.runningVar, layer.state.numBatchesTracked, layer.grads.weight, layer.grads.bias].map(bytes).join('|');
}

const codeOf = errorCode;

/** A layer that has seen one batch and one backward, so every buffer holds non-trivial values. */
function trainedLayer(): BatchNorm {
  const layer = new BatchNorm({ numFeatures: 3 }, { dtype: 'float64' });
  layer.forward(randn([4, 3, 2, 2], 1));
  layer.backward(randn([4, 3, 2, 2], 2));
  return layer;
}

describe('bad input: a NormkitError with its code, and nothing changes', () => {
  const forwardCases: [string, () => unknown, string][] = [
    ['rank 1 input', () => randn([3], 1), 'E_SHAPE'],
    ['C ≠ numFeatures', () => randn([4, 5, 2], 1), 'E_SHAPE'],
    ['empty batch (size-0 axis)', () => zeros([0, 3], 'float64'), 'E_SHAPE'],
    ['plain array data', () => ndarray([1, 2, 3, 4, 5, 6], [2, 3]), 'E_DTYPE'],
    ['Int32Array data', () => ndarray(new Int32Array(6), [2, 3]), 'E_DTYPE'],
    ['a plain JS array', () => [[1, 2, 3]], 'E_DTYPE'],
    ['one value per channel in training', () => randn([1, 3], 1), 'E_DEGENERATE'],
    ['one value per channel, 4-D', () => randn([1, 3, 1, 1], 1), 'E_DEGENERATE'],
    ['NaN in a training batch', () => fromArray([1, 2, NaN, 4, 5, 6], [2, 3], 'float64'), 'E_NONFINITE'],
    ['Infinity in a training batch', () => fromArray([1, 2, Infinity, 4, 5, 6], [2, 3], 'float64'), 'E_NONFINITE'],
  ];
  for (const [name, makeX, code] of forwardCases) {
    it(`forward: ${name} → ${code}`, () => {
      const layer = trainedLayer();
      const before = snapshot(layer);
      expect(codeOf(() => layer.forward(makeX() as Tensor))).toBe(code);
      expect(snapshot(layer)).toBe(before);
    });
  }

  it('forward: misshapen, mistyped, missing or unexpected parameters and state → E_SHAPE / E_DTYPE / E_STATE, no new state', () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float64');
    const x = randn([4, 3], 1);
    const before = [params.weight, params.bias, state.runningMean, state.runningVar, state.numBatchesTracked].map(bytes).join('|');
    const bad: [Record<string, unknown>, Record<string, unknown>, string][] = [
      [{ ...params, weight: zeros([4], 'float64') }, state, 'E_SHAPE'],
      [{ ...params, bias: zeros([3, 1], 'float64') }, state, 'E_SHAPE'],
      [{ weight: params.weight }, state, 'E_STATE'],
      [{ ...params, gamma: params.weight }, state, 'E_STATE'],
      [{ ...params, weight: [1, 1, 1] }, state, 'E_DTYPE'],
      [params, { ...state, runningVar: zeros([2], 'float64') }, 'E_SHAPE'],
      [params, { ...state, numBatchesTracked: zeros([1], 'float64') }, 'E_SHAPE'],
      [params, { runningMean: state.runningMean }, 'E_STATE'],
      [params, 'state' as never, 'E_STATE'],
      // the dtype rule: parameters and floating state in x's dtype, the counter in float64
      [{ ...params, weight: zeros([3], 'float32') }, state, 'E_DTYPE'],
      [params, { ...state, runningVar: zeros([3], 'float32') }, 'E_DTYPE'],
      [params, { ...state, numBatchesTracked: zeros([], 'float32') }, 'E_DTYPE'],
    ];
    for (const [p, s, code] of bad) {
      expect(codeOf(() => bn.forward({ x, params: p as never, state: s as never, mode: 'train' }))).toBe(code);
    }
    expect([params.weight, params.bias, state.runningMean, state.runningVar, state.numBatchesTracked].map(bytes).join('|')).toBe(before);
  });

  it('backward: dy of another shape or dtype → E_SHAPE / E_DTYPE, gradients unchanged', () => {
    const layer = trainedLayer();
    layer.forward(randn([4, 3, 2, 2], 3));
    const before = snapshot(layer);
    expect(codeOf(() => layer.backward(randn([4, 3, 2, 1], 4)))).toBe('E_SHAPE');
    expect(codeOf(() => layer.backward(randn([2, 3, 2, 2], 4)))).toBe('E_SHAPE');
    expect(codeOf(() => layer.backward(ndarray(new Int32Array(48), [4, 3, 2, 2]) as never))).toBe('E_DTYPE');
    expect(snapshot(layer)).toBe(before);
  });

  it('options: eps ≤ 0, momentum outside [0, 1], bad types and unknown keys → E_OPTION', () => {
    const bad: unknown[] = [
      {},
      { numFeatures: 0 },
      { numFeatures: 2.5 },
      { numFeatures: 3, eps: 0 },
      { numFeatures: 3, eps: -1e-5 },
      { numFeatures: 3, momentum: -0.1 },
      { numFeatures: 3, momentum: 1.5 },
      { numFeatures: 3, momentum: NaN },
      { numFeatures: 3, affine: 'yes' },
      { numFeatures: 3, trackRunningStats: 1 },
      { numFeatures: 3, channelAxis: 1.5 },
      { numFeatures: 3, momentun: 0.1 },
      'numFeatures',
    ];
    for (const options of bad) expect(codeOf(() => new BatchNorm(options as never))).toBe('E_OPTION');
    // an axis that does not exist for this input is an option error at call time
    const layer = new BatchNorm({ numFeatures: 3, channelAxis: 4 });
    expect(codeOf(() => layer.forward(randn([2, 3], 1, 'float32')))).toBe('E_OPTION');
    // momentum 0 and 1 are allowed, as in PyTorch
    expect(new BatchNorm({ numFeatures: 3, momentum: 0 }).options.momentum).toBe(0);
    expect(new BatchNorm({ numFeatures: 3, momentum: 1 }).options.momentum).toBe(1);
  });

  it('messages name the argument, what was expected and what came', () => {
    const layer = new BatchNorm({ numFeatures: 3 });
    try {
      layer.forward(randn([4, 5], 1, 'float32'));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe('x: expected 3 channels (numFeatures) on axis 1, got shape [4, 5]');
    }
    try {
      new BatchNorm({ numFeatures: 3, eps: 0 });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe('batch-norm options.eps: expected a finite number > 0, got 0');
    }
  });
});

describe('NaN policy', () => {
  it('eval mode lets NaN through to the output and changes nothing (as PyTorch)', () => {
    const layer = trainedLayer().eval();
    const before = snapshot(layer);
    const y = layer.forward(fromArray([1, NaN, 3, 4, 5, 6], [2, 3], 'float64'));
    expect(Number.isNaN(y.get(0, 1))).toBe(true);
    expect(Number.isFinite(y.get(0, 0))).toBe(true);
    expect(snapshot(layer)).toBe(before);
  });

  it('training without running statistics lets NaN through (nothing to poison)', () => {
    const bn = batchNorm.create({ numFeatures: 3, trackRunningStats: false });
    const { params } = bn.init('float64');
    const { y } = bn.forward({ x: fromArray([1, NaN, 3, 4, 5, 6], [2, 3], 'float64'), params, state: {}, mode: 'train' });
    expect(Number.isNaN(y.get(1, 1))).toBe(true);
    expect(y.get(1, 0)).toBeCloseTo(1 / Math.sqrt(1 + 1e-5 / 2.25), 12);
  });

  it('NaN or ±Infinity already in the running statistics is refused in both modes, naming the entry (it was blamed on x in training and let through in eval)', () => {
    for (const [entry, value] of [['runningMean', Number.NaN], ['runningMean', -Infinity], ['runningVar', Infinity]] as const) {
      for (const mode of ['train', 'eval'] as const) {
        const layer = trainedLayer();
        (layer.state[entry] as Tensor).data[1] = value;
        if (mode === 'eval') layer.eval();
        const before = snapshot(layer);
        let error: unknown = null;
        try {
          layer.forward(randn([4, 3], 3));
        } catch (e) {
          error = e;
        }
        expect(isNormkitError(error, 'E_NONFINITE'), `${entry} = ${value} in ${mode}`).toBe(true);
        expect((error as Error).message).toContain(`state.${entry}: expected finite`);
        expect((error as Error).message).toContain(`got ${value} for channel 1`);
        expect(snapshot(layer)).toBe(before);
      }
    }
  });
});

describe('found by a second read', () => {
  it('refuses a float32 batch whose running variance would overflow float32, before writing out', () => {
    const layer = new BatchNorm({ numFeatures: 1 });
    const before = snapshot(layer);
    const out = zeros([3, 1], 'float32');
    expect(codeOf(() => layer.forward(fromArray([1e20, -1e20, 3e20], [3, 1], 'float32'), out))).toBe('E_NONFINITE');
    expect(snapshot(layer)).toBe(before);
    expect(Array.from(out.data)).toEqual([0, 0, 0]);
  });

  it('refuses an out that overlaps the parameters or the running statistics', () => {
    const bn = batchNorm.create({ numFeatures: 2 });
    const arena = new Float64Array(16);
    const state = {
      runningMean: fromArray([0, 0], 'float64'),
      runningVar: fromArray([1, 1], 'float64'),
      numBatchesTracked: zeros([], 'float64'),
    };
    const weight = ndarray(arena.subarray(0, 2), [2]);
    const bias = ndarray(arena.subarray(2, 4), [2]);
    const out = ndarray(arena.subarray(0, 8), [4, 2], [2, 1], 0);
    expect(codeOf(() => bn.forward({ x: randn([4, 2], 1), params: { weight, bias }, state, mode: 'train', out: out as never }))).toBe('E_SHAPE');
    const separate = ndarray(arena.subarray(8, 16), [4, 2], [2, 1], 0);
    expect(codeOf(() => bn.forward({ x: randn([4, 2], 1), params: { weight, bias }, state, mode: 'train', out: separate as never }))).toBeUndefined();
  });

  it('suggests example shapes that forward accepts for any channel axis', () => {
    for (const channelAxis of [0, 1, 2, 3, -1, -2, -3]) {
      const bn = batchNorm.create({ numFeatures: 3, channelAxis });
      const shapes = bn.exampleShapes();
      expect(shapes.length).toBeGreaterThan(0);
      const { params, state } = bn.init('float64');
      for (const shape of shapes) expect(codeOf(() => bn.forward({ x: randn(shape, 2), params, state, mode: 'train' }))).toBeUndefined();
    }
  });
});

describe('the dtype rule: parameters and floating state in x’s dtype', () => {
  it('a float32 layer refuses a float64 input with E_DTYPE naming both dtypes and the conversions, changing nothing', () => {
    const layer = new BatchNorm({ numFeatures: 3 }); // float32 parameters and running statistics
    const before = snapshot(layer);
    let caught: unknown;
    try {
      layer.forward(randn([4, 3], 1, 'float64'));
    } catch (e) {
      caught = e;
    }
    expect(isNormkitError(caught, 'E_DTYPE')).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain('float64');
    expect(message).toContain('float32');
    expect(message).toContain("layer.to('float64')");
    expect(message).toContain("toDtype(x, 'float32')");
    expect(snapshot(layer)).toBe(before);
  });

  it('dy may be float32 or float64; dx and the gradients follow x’s dtype', () => {
    const bn = batchNorm.create({ numFeatures: 2 });
    const { params, state } = bn.init('float64');
    const x = randn([5, 2], 1);
    const { saved } = bn.forward({ x, params, state, mode: 'train' });
    const from32 = bn.backward({ dy: randn([5, 2], 2, 'float32'), params, saved });
    const from64 = bn.backward({ dy: randn([5, 2], 2, 'float64'), params, saved });
    expect(from32.dx.data).toBeInstanceOf(Float64Array);
    expect(from32.grads.weight?.data).toBeInstanceOf(Float64Array);
    // randn values are float32-exact: the same dy either way, so the same results
    expect(Array.from(from32.dx.data)).toEqual(Array.from(from64.dx.data));
  });
});

describe('an out that is a parameter’s own memory (regression: it would overwrite γ while reading it)', () => {
  for (const mode of ['train', 'eval'] as const) {
    it(`forward (${mode}) refuses out over params.weight with E_SHAPE and changes nothing`, () => {
      const bn = batchNorm.create({ numFeatures: 3 });
      const { params, state } = bn.init('float64');
      const weight = fromArray([2, 3, 4], 'float64');
      const x = randn([1, 3], 1);
      const before = [weight, params.bias, state.runningMean, state.runningVar, state.numBatchesTracked].map(bytes).join('|');
      const out = ndarray(weight.data, [1, 3]);
      const args = { x, params: { ...params, weight }, state, mode, out: out as never };
      expect(codeOf(() => bn.forward(args))).toBe('E_SHAPE');
      expect([weight, params.bias, state.runningMean, state.runningVar, state.numBatchesTracked].map(bytes).join('|')).toBe(before);
    });
  }

  it('backward refuses a dx out over params.weight or over dy with E_SHAPE, and computes nothing', () => {
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float64');
    const arena = new Float64Array(12);
    const weight = ndarray(arena.subarray(0, 3), [3]);
    weight.data.set([1, 2, 3]);
    const x = randn([2, 3], 1);
    const { saved } = bn.forward({ x, params: { ...params, weight }, state, mode: 'train' });
    const dy = randn([2, 3], 2);
    const before = bytes(weight) + bytes(dy);
    expect(codeOf(() => bn.backward({ dy, params: { ...params, weight }, saved, out: ndarray(arena.subarray(0, 6), [2, 3]) as never }))).toBe('E_SHAPE');
    expect(codeOf(() => bn.backward({ dy, params: { ...params, weight }, saved, out: dy }))).toBe('E_SHAPE');
    expect(bytes(weight) + bytes(dy)).toBe(before);
    expect(codeOf(() => bn.backward({ dy, params: { ...params, weight }, saved, out: ndarray(arena.subarray(6, 12), [2, 3]) as never }))).toBeUndefined();
  });
});

describe('loadStateDict asks the plugin about values', () => {
  it('refuses a fractional or negative step counter and a negative running variance at load time, changing nothing', () => {
    const layer = trainedLayer();
    const before = snapshot(layer);
    const good = layer.stateDict();
    for (const bad of [
      { ...good, numBatchesTracked: fromArray([2.5], [], 'float64') },
      { ...good, numBatchesTracked: fromArray([-1], [], 'float64') },
      { ...good, runningVar: fromArray([1, -0.5, 1], 'float64') },
    ]) {
      expect(codeOf(() => layer.loadStateDict(bad))).toBe('E_STATE');
      expect(snapshot(layer)).toBe(before);
    }
    layer.loadStateDict({ ...good, numBatchesTracked: fromArray([7], [], 'float64') });
    expect(layer.numBatchesTracked).toBe(7);
  });
});
