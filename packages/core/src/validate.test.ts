import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { NormkitError } from './errors.js';
import { byteRange } from './out.js';
import { checkNormSaved, trailingShapeProblem } from './saved.js';
import type { Tensor } from './tensor.js';
import { formatShape, fromArray, full, tensor, zeros } from './tensor.js';
import type { ForwardSpec } from './validate.js';
import { checkBackward, checkDoubleBackward, checkForward, checkOut, float64Values, outputOf } from './validate.js';

/** The NormkitError a call throws (or `undefined`), so a test can check code, argument and message. */
function thrown(fn: () => unknown): NormkitError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  return undefined;
}

/** A batch-norm-like spec: channels on axis 1, per-channel parameters and state, a float64 counter. */
const spec: ForwardSpec = {
  plugin: 'test-norm',
  minRank: 2,
  checkShape: (shape) => (shape[1] === 3 ? null : `expected 3 channels on axis 1, got shape ${formatShape(shape)}`),
  paramShapes: { weight: [3], bias: [3] },
  stateShapes: { runningMean: [3], numBatchesTracked: [] },
  counters: ['numBatchesTracked'],
};

function goodArgs(dtype: 'float32' | 'float64' = 'float64') {
  return {
    x: zeros([4, 3], dtype),
    params: { weight: full([3], dtype, 1), bias: zeros([3], dtype) },
    state: { runningMean: zeros([3], dtype), numBatchesTracked: zeros([], 'float64') },
    mode: 'train' as const,
  };
}

describe('checkForward', () => {
  it('returns the checked arguments: x, its dtype, params, state, mode and no out', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const args = goodArgs(dtype);
      const checked = checkForward(args, spec);
      expect(checked.x).toBe(args.x);
      expect(checked.dtype).toBe(dtype);
      expect(checked.params).toEqual(args.params);
      expect(checked.params.weight).toBe(args.params.weight);
      expect(checked.state.numBatchesTracked).toBe(args.state.numBatchesTracked);
      expect(checked.mode).toBe('train');
      expect(checked.out).toBeUndefined();
    }
  });

  it('refuses a rank below minRank with E_SHAPE naming x, the rank expected and the rank that came', () => {
    const e = thrown(() => checkForward({ ...goodArgs(), x: zeros([3], 'float64') }, spec));
    expect(e?.code).toBe('E_SHAPE');
    expect(e?.argument).toBe('x');
    expect(e?.message).toBe('x: expected rank ≥ 2, got rank 1 (shape [3])');
  });

  it("reports the plugin's own shape check as E_SHAPE on x", () => {
    const e = thrown(() => checkForward({ ...goodArgs(), x: zeros([4, 5], 'float64') }, spec));
    expect(e?.code).toBe('E_SHAPE');
    expect(e?.message).toBe('x: expected 3 channels on axis 1, got shape [4, 5]');
  });

  it('refuses x that is not a float ndarray (E_DTYPE), a bad mode (E_OPTION) and a non-object (E_STATE)', () => {
    expect(thrown(() => checkForward({ ...goodArgs(), x: [1, 2, 3] }, spec))?.code).toBe('E_DTYPE');
    expect(thrown(() => checkForward({ ...goodArgs(), x: ndarray(new Int32Array(12), [4, 3]) }, spec))?.code).toBe('E_DTYPE');
    const mode = thrown(() => checkForward({ ...goodArgs(), mode: 'test' }, spec));
    expect(mode?.code).toBe('E_OPTION');
    expect(mode?.message).toBe("test-norm forward: mode expected 'train' or 'eval', got \"test\"");
    expect(thrown(() => checkForward(null as never, spec))?.code).toBe('E_STATE');
  });

  it('refuses float64 x with float32 parameters (E_DTYPE), naming both dtypes and the conversions', () => {
    const args = goodArgs('float64');
    const e = thrown(() => checkForward({ ...args, params: { ...args.params, weight: full([3], 'float32', 1) } }, spec));
    expect(e?.code).toBe('E_DTYPE');
    expect(e?.argument).toBe('params.weight');
    expect(e?.message).toContain('params.weight: expected float64 to match x, got float32');
    expect(e?.message).toContain("layer.to('float64')");
    expect(e?.message).toContain("toDtype(x, 'float32')");
  });

  it('refuses float32 x with float64 parameters or state the same way, the other way round', () => {
    const args = goodArgs('float32');
    const param = thrown(() => checkForward({ ...args, params: { ...args.params, bias: zeros([3], 'float64') } }, spec));
    expect(param?.code).toBe('E_DTYPE');
    expect(param?.message).toContain('params.bias: expected float32 to match x, got float64');
    expect(param?.message).toContain("layer.to('float32')");
    expect(param?.message).toContain("toDtype(x, 'float64')");
    const state = thrown(() => checkForward({ ...args, state: { ...args.state, runningMean: zeros([3], 'float64') } }, spec));
    expect(state?.code).toBe('E_DTYPE');
    expect(state?.argument).toBe('state.runningMean');
    expect(state?.message).toContain('float32');
    expect(state?.message).toContain('float64');
    expect(state?.message).toContain('to(');
  });

  it('keeps counters in float64 whatever x’s dtype', () => {
    const args = goodArgs('float32');
    expect(checkForward(args, spec).dtype).toBe('float32');
    const e = thrown(() => checkForward({ ...args, state: { ...args.state, numBatchesTracked: zeros([], 'float32') } }, spec));
    expect(e?.code).toBe('E_DTYPE');
    expect(e?.message).toBe('state.numBatchesTracked: expected a float64 counter, got float32');
  });

  it('refuses missing, unexpected and misshapen parameters and state', () => {
    const args = goodArgs();
    expect(thrown(() => checkForward({ ...args, params: { weight: args.params.weight } }, spec))?.code).toBe('E_STATE');
    expect(thrown(() => checkForward({ ...args, params: { ...args.params, gamma: zeros([3], 'float64') } }, spec))?.code).toBe('E_STATE');
    expect(thrown(() => checkForward({ ...args, params: { ...args.params, bias: zeros([4], 'float64') } }, spec))?.code).toBe('E_SHAPE');
    expect(thrown(() => checkForward({ ...args, state: { runningMean: zeros([3], 'float64') } }, spec))?.code).toBe('E_STATE');
  });

  it('accepts an out of its own memory, and refuses one overlapping x, a parameter or the state (E_SHAPE)', () => {
    const arena = new Float64Array(128);
    const at = (start: number, shape: number[]) => tensor(arena.subarray(start, start + shape.reduce((a, b) => a * b, 1)), shape);
    const x = at(0, [4, 3]); // [0, 12)
    const weight = at(20, [3]); // [20, 23)
    const bias = at(40, [3]); // [40, 43)
    const runningMean = at(60, [3]); // [60, 63)
    const numBatchesTracked = at(80, []); // [80, 81)
    const args = { x, params: { weight, bias }, state: { runningMean, numBatchesTracked }, mode: 'train' as const };
    const own = at(100, [4, 3]);
    expect(checkForward({ ...args, out: own }, spec).out).toBe(own);
    // each window of 12 elements overlaps exactly one of them
    for (const [what, start] of [
      ['x itself (another tensor over its memory)', 0],
      ['params.weight', 12],
      ['params.bias', 32],
      ['state.runningMean', 52],
      ['state.numBatchesTracked', 70],
    ] as const) {
      const e = thrown(() => checkForward({ ...args, out: at(start, [4, 3]) }, spec));
      expect(e?.code, what).toBe('E_SHAPE');
      expect(e?.argument).toBe('out');
      expect(e?.message).toBe('out: expected memory of its own, got memory shared with an input, a parameter or the state it would overwrite');
    }
  });

  it("refuses an out of another shape (E_SHAPE) or dtype (E_DTYPE), or that isn't row-major (E_SHAPE)", () => {
    expect(thrown(() => checkForward({ ...goodArgs(), out: zeros([3, 4], 'float64') }, spec))?.code).toBe('E_SHAPE');
    expect(thrown(() => checkForward({ ...goodArgs(), out: zeros([4, 3], 'float32') }, spec))?.code).toBe('E_DTYPE');
    expect(thrown(() => checkForward({ ...goodArgs(), out: zeros([3, 4], 'float64').transpose(1, 0) }, spec))?.code).toBe('E_SHAPE');
  });

  it('refuses an empty x (E_SHAPE) unless the plugin allows it; then an empty out of that shape is accepted, and backward takes an empty dy', () => {
    const empty = zeros([0, 3], 'float64');
    const refused = thrown(() => checkForward({ ...goodArgs(), x: empty }, spec));
    expect(refused?.code).toBe('E_SHAPE');
    expect(refused?.message).toContain('expected a non-empty tensor, got shape [0, 3]');
    const allowing: ForwardSpec = { ...spec, allowEmpty: true };
    const checked = checkForward({ ...goodArgs(), x: empty, out: zeros([0, 3], 'float64') }, allowing);
    expect(checked.x.shape).toEqual([0, 3]);
    expect(checked.out?.shape).toEqual([0, 3]);
    expect(thrown(() => checkForward({ ...goodArgs(), x: empty, out: zeros([0, 3], 'float32') }, allowing))?.code).toBe('E_DTYPE');
    expect(thrown(() => checkForward({ ...goodArgs(), x: zeros([0, 2], 'float64') }, allowing))?.code).toBe('E_SHAPE'); // the plugin's own check still runs
    const params = { weight: full([3], 'float64', 1), bias: zeros([3], 'float64') };
    expect(checkBackward({ dy: zeros([0, 3], 'float32'), params }, empty, spec).dy.shape).toEqual([0, 3]);
    expect(thrown(() => checkBackward({ dy: zeros([0, 3], 'float64'), params }, zeros([2, 3], 'float64'), spec))?.code).toBe('E_SHAPE');
  });
});

describe('checkBackward', () => {
  const x = zeros([4, 3], 'float64');
  const params = { weight: full([3], 'float64', 1), bias: zeros([3], 'float64') };

  it('accepts dy of either dtype with the forward input’s shape', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const dy = zeros([4, 3], dtype);
      const checked = checkBackward({ dy, params }, x, spec);
      expect(checked.dy).toBe(dy);
      expect(checked.params.weight).toBe(params.weight);
      expect(checked.out).toBeUndefined();
    }
  });

  it('refuses dy of another shape with E_SHAPE naming both shapes', () => {
    const e = thrown(() => checkBackward({ dy: zeros([3, 4], 'float64'), params }, x, spec));
    expect(e?.code).toBe('E_SHAPE');
    expect(e?.argument).toBe('dy');
    expect(e?.message).toBe('dy: expected the shape of the forward input [4, 3], got [3, 4]');
    expect(thrown(() => checkBackward({ dy: zeros([12], 'float64'), params }, x, spec))?.code).toBe('E_SHAPE');
  });

  it('refuses dy that is not a float tensor (E_DTYPE), parameters of another dtype than x (E_DTYPE) and missing ones (E_STATE)', () => {
    expect(thrown(() => checkBackward({ dy: ndarray(new Int32Array(12), [4, 3]), params }, x, spec))?.code).toBe('E_DTYPE');
    const mixed = thrown(() => checkBackward({ dy: zeros([4, 3], 'float64'), params: { ...params, weight: full([3], 'float32', 1) } }, x, spec));
    expect(mixed?.code).toBe('E_DTYPE');
    expect(mixed?.message).toContain('expected float64 to match x, got float32');
    expect(thrown(() => checkBackward({ dy: zeros([4, 3], 'float64'), params: {} }, x, spec))?.code).toBe('E_STATE');
    expect(thrown(() => checkBackward(undefined as never, x, spec))?.code).toBe('E_STATE');
  });

  it('refuses an out overlapping x, dy or a parameter, and one of float32 for a float64 x (dx follows x)', () => {
    const arena = new Float64Array(48);
    const sharedX = tensor(arena.subarray(0, 12), [4, 3]);
    const dy = tensor(arena.subarray(12, 24), [4, 3]);
    const weight = tensor(arena.subarray(24, 27), [3]);
    const ownParams = { weight, bias: zeros([3], 'float64') };
    const own = tensor(arena.subarray(30, 42), [4, 3]);
    expect(checkBackward({ dy, params: ownParams, out: own }, sharedX, spec).out).toBe(own);
    for (const start of [4, 16, 20]) {
      expect(thrown(() => checkBackward({ dy, params: ownParams, out: tensor(arena.subarray(start, start + 12), [4, 3]) }, sharedX, spec))?.code).toBe('E_SHAPE');
    }
    expect(thrown(() => checkBackward({ dy, params: ownParams, out: zeros([4, 3], 'float32') }, sharedX, spec))?.code).toBe('E_DTYPE');
  });
});

describe('checkDoubleBackward', () => {
  const x = zeros([4, 3], 'float64');
  const good = () => ({ dy: zeros([4, 3], 'float32'), params: { weight: full([3], 'float64', 1), bias: zeros([3], 'float64') }, ddx: zeros([4, 3], 'float32') });

  it('returns dy, params, ddx and the dgrads given (either float dtype; absent entries left out)', () => {
    const args = good();
    const checked = checkDoubleBackward(args, x, spec);
    expect(checked.dy).toBe(args.dy);
    expect(checked.ddx).toBe(args.ddx);
    expect(checked.params.weight).toBe(args.params.weight);
    expect(checked.dgrads).toEqual({});
    const weight = zeros([3], 'float32');
    const withGrads = checkDoubleBackward({ ...args, dgrads: { weight, bias: undefined } }, x, spec);
    expect(Object.keys(withGrads.dgrads)).toEqual(['weight']);
    expect(withGrads.dgrads.weight).toBe(weight);
  });

  it('refuses a ddx of another shape (E_SHAPE), a non-tensor ddx (E_DTYPE), naming ddx', () => {
    const shape = thrown(() => checkDoubleBackward({ ...good(), ddx: zeros([3, 4], 'float64') }, x, spec));
    expect(shape?.code).toBe('E_SHAPE');
    expect(shape?.argument).toBe('ddx');
    expect(shape?.message).toBe('ddx: expected the shape of the forward input [4, 3], got [3, 4]');
    expect(thrown(() => checkDoubleBackward({ ...good(), ddx: [1, 2, 3] }, x, spec))?.code).toBe('E_DTYPE');
  });

  it('refuses dgrads that are not an object, name no parameter, or have the wrong shape', () => {
    expect(thrown(() => checkDoubleBackward({ ...good(), dgrads: 3 }, x, spec))?.code).toBe('E_STATE');
    const unknown = thrown(() => checkDoubleBackward({ ...good(), dgrads: { gamma: zeros([3], 'float64') } }, x, spec));
    expect(unknown?.code).toBe('E_STATE');
    expect(unknown?.message).toBe('dgrads.gamma: unexpected entry; expected only weight, bias for these options');
    const misshapen = thrown(() => checkDoubleBackward({ ...good(), dgrads: { bias: zeros([4], 'float64') } }, x, spec));
    expect(misshapen?.code).toBe('E_SHAPE');
    expect(misshapen?.argument).toBe('dgrads.bias');
  });

  it('checks dy and params as checkBackward does', () => {
    expect(thrown(() => checkDoubleBackward({ ...good(), dy: zeros([4, 2], 'float64') }, x, spec))?.argument).toBe('dy');
    expect(thrown(() => checkDoubleBackward({ ...good(), params: { weight: full([3], 'float64', 1) } }, x, spec))?.code).toBe('E_STATE');
    expect(thrown(() => checkDoubleBackward(null as never, x, spec))?.code).toBe('E_STATE');
  });
});

describe('checkOut and outputOf', () => {
  it('allow disjoint views of one buffer, refuse overlap (byte ranges), and honour offsets', () => {
    const buffer = new Float64Array(20);
    const x = tensor(buffer.subarray(0, 6), [2, 3]);
    const disjoint = tensor(buffer.subarray(10, 16), [2, 3]);
    expect(checkOut(disjoint, [2, 3], 'float64', [x])).toBe(disjoint);
    const overlapping = tensor(buffer.subarray(4, 10), [2, 3]);
    expect(thrown(() => checkOut(overlapping, [2, 3], 'float64', [x]))?.code).toBe('E_SHAPE');
    expect(byteRange(x)).toEqual([0, 48]);
    expect(byteRange(overlapping)).toEqual([32, 80]);
    // a contiguous view at an offset: the result is a view whose index 0 is that offset
    const big = zeros([4, 3], 'float64');
    const lower = big.lo(2, 0);
    const view = checkOut(lower, [2, 3], 'float64', [x]);
    expect(view.offset).toBe(0);
    expect(view.data.length).toBe(6);
    view.data[0] = 7;
    expect(big.get(2, 0)).toBe(7);
    expect(thrown(() => checkOut(zeros([3, 2], 'float64'), [2, 3], 'float64', []))?.code).toBe('E_SHAPE');
    expect(thrown(() => checkOut(zeros([2, 3], 'float32'), [2, 3], 'float64', []))?.code).toBe('E_DTYPE');
    expect(thrown(() => checkOut([0, 0, 0, 0, 0, 0], [2, 3], 'float64', []))?.code).toBe('E_DTYPE');
  });

  it('sees overlap through reversed views, and none between buffers that only share values', () => {
    const buffer = new Float64Array(12);
    const reversed = ndarray(buffer, [6], [-1], 5); // elements 0..5, walked backwards
    const out = tensor(buffer.subarray(5, 11), [6]);
    expect(byteRange(reversed as Tensor)).toEqual([0, 48]);
    expect(thrown(() => checkOut(out, [6], 'float64', [reversed as Tensor]))?.code).toBe('E_SHAPE');
    expect(checkOut(zeros([6], 'float64'), [6], 'float64', [reversed as Tensor]).shape).toEqual([6]);
  });

  it('outputOf returns the checked out itself, or a new zero-filled row-major tensor of the dtype', () => {
    const out = zeros([2, 3], 'float32');
    expect(outputOf(out, [2, 3], 'float32')).toBe(out);
    for (const dtype of ['float32', 'float64'] as const) {
      const fresh = outputOf(undefined, [2, 3], dtype);
      expect(fresh.shape).toEqual([2, 3]);
      expect(fresh.stride).toEqual([3, 1]);
      expect(fresh.data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
      expect(Array.from(fresh.data)).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });
});

describe('float64Values', () => {
  it('reads any view row-major into a new Float64Array', () => {
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float32');
    const contiguous = float64Values(t);
    expect(contiguous).toBeInstanceOf(Float64Array);
    expect(Array.from(contiguous)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(float64Values(t.transpose(1, 0)))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(float64Values(t.step(-1, -1)))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(Array.from(float64Values(t.lo(1, 1)))).toEqual([5, 6]);
    expect(Array.from(float64Values(full([], 'float64', 7)))).toEqual([7]);
    // a copy: writing it leaves the tensor alone
    contiguous[0] = 99;
    expect(t.get(0, 0)).toBe(1);
  });
});

describe('checkNormSaved and trailingShapeProblem', () => {
  const x = zeros([4, 3], 'float64');
  const fits = (shape: readonly number[]) => (shape[1] === 3 ? null : 'not 3 channels');
  const good = { x, center: new Float64Array(3), invStd: new Float64Array(3).fill(1), batchStats: true };

  it('accepts what forward saved and refuses anything else with E_STATE on saved', () => {
    expect(checkNormSaved(good, 'test-norm', fits, () => 3)).toBe(good);
    const bad: unknown[] = [
      null,
      { ...good, x: [1, 2] },
      { ...good, x: zeros([4, 5], 'float64') },
      { ...good, center: new Float32Array(3) },
      { ...good, invStd: new Float64Array(2) },
      { ...good, batchStats: 'yes' },
    ];
    for (const saved of bad) {
      const e = thrown(() => checkNormSaved(saved, 'test-norm', fits, () => 3));
      expect(e?.code).toBe('E_STATE');
      expect(e?.argument).toBe('saved');
      expect(e?.message).toContain('saved: expected the saved value of a test-norm forward call with these options');
    }
    expect(thrown(() => checkNormSaved({ ...good, x: zeros([4, 5], 'float64') }, 'test-norm', fits, () => 3))?.message).toContain('an input of shape [4, 5] (not 3 channels)');
    // strides that point outside the buffer: refused, not read (backward returned NaN from them)
    const outside = { ...good, x: { ...x, stride: x.stride.map((s) => s * 100) } };
    const e = thrown(() => checkNormSaved(outside, 'test-norm', fits, () => 3));
    expect(e?.code).toBe('E_STATE');
    expect(e?.message).toContain('an input tensor x that is not readable (saved.x:');
  });

  it('trailingShapeProblem names the trailing shape expected and what came', () => {
    expect(trailingShapeProblem([2, 3, 4], [3, 4], 'normalizedShape')).toBeNull();
    expect(trailingShapeProblem([3, 4], [3, 4], 'normalizedShape')).toBeNull();
    expect(trailingShapeProblem([4], [3, 4], 'normalizedShape')).toBe('expected rank ≥ 2 ending in normalizedShape [3, 4], got rank 1 (shape [4])');
    expect(trailingShapeProblem([2, 6, 3], [4], 'normalizedShape')).toBe('expected trailing shape [4] (normalizedShape), got shape [2, 6, 3] whose last 1 axes are [3]');
  });
});
