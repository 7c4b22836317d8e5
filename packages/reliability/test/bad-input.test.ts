/**
 * Bad input loses nothing: a table over every public entry point (the bound plugin's
 * forward/backward, Layer methods, loadStateDict, option resolution and `create`,
 * initFromBatch; the CLI is in cli.test.ts)
 * and every kind of bad input. Each row must throw a NormkitError with the documented code
 * and leave parameters, running statistics, accumulated gradients, the saved context and
 * the caller's tensors bit-for-bit as they were (byte copies of whole buffers, taken before).
 *
 * "dy from another call" can only be detected by its shape: a dy of another call's shape is
 * E_SHAPE; a dy of the same shape is indistinguishable from a legitimate one (last test).
 *
 * The dtype rule: parameters and floating state must have x's dtype (E_DTYPE, as PyTorch
 * raises on mixed dtypes); counters (numBatchesTracked) are float64; dy may be either dtype.
 */
import { describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { isNormkitError, toContiguous, toDtype, full } from '@normkit/core';
import type { Layer, Tensor } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { batchRenorm } from '@normkit/batch-renorm';
import { ghostBatchNorm } from '@normkit/ghost-batch-norm';
import { groupNorm } from '@normkit/group-norm';
import { instanceNorm } from '@normkit/instance-norm';
import { syncBatchNorm } from '@normkit/sync-batch-norm';
import { initFromBatch, WeightNormLinear } from '@normkit/weight-norm';
import { randn, thrownError } from '@normkit/testkit';
import { changedEntries, layerBytes, layerChanges, recordBytes, valuesOf } from '../src/index.js';
import { FIXTURES, withOwnKey } from './fixtures.js';
import type { Fixture } from './fixtures.js';

type Code = 'E_SHAPE' | 'E_DTYPE' | 'E_OPTION' | 'E_DEGENERATE' | 'E_NONFINITE' | 'E_STATE';

/** Runs `call`, expects NormkitError `code`, and that the layer and the tensors are byte-identical. */
function expectRejected(code: Code, layer: Layer<any> | null, tensors: Record<string, unknown>, call: () => unknown): void {
  const before = layer === null ? null : layerBytes(layer);
  const given = recordBytes(tensors);
  let thrown: unknown = null;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  if (thrown === null) throw new Error(`expected ${code}, but the call returned`);
  if (!isNormkitError(thrown)) throw new Error(`expected NormkitError ${code}, got ${String(thrown)}`);
  expect(thrown.code, thrown.message).toBe(code);
  if (before !== null && layer !== null) expect(layerChanges(before, layer)).toEqual([]);
  expect(changedEntries(given, recordBytes(tensors))).toEqual([]);
}

/** The layer still differentiates its last good forward call: backward(dy) is what it was. */
function expectSavedIntact(f: Fixture, expectedDx: Float64Array): void {
  const grads = layerBytes(f.layer).grads;
  const dx = f.layer.backward(f.dy);
  expect(Array.from(valuesOf(dx))).toEqual(Array.from(expectedDx));
  void grads;
}

/** dx that backward(dy) gives after the fixture's last good forward, from a twin fixture. */
function referenceDx(make: () => Fixture): Float64Array {
  const twin = make();
  return valuesOf(twin.layer.backward(twin.dy));
}

/** Table rows with the expected code in the title (`label → code`); the bad value stays out of it. */
function titled<R extends readonly [string, unknown, Code, ...unknown[]]>(rows: readonly R[]): R[] {
  return rows.map((row) => [`${row[0]} → ${row[2]}`, ...row.slice(1)] as unknown as R);
}

const int32 = (shape: number[]): unknown => ndarray(new Int32Array(shape.reduce((a, b) => a * b, 1)), shape);
const uint8 = (shape: number[]): unknown => ndarray(new Uint8Array(shape.reduce((a, b) => a * b, 1)), shape);
const plainArray = (t: Tensor): unknown => Array.from(valuesOf(t));
const outOfBuffer = (t: Tensor): unknown => ndarray(new Float64Array(2), t.shape.slice());
const badShape = (t: Tensor): unknown => ({ data: new Float64Array(4), shape: t.shape.map(() => 1.5), stride: t.shape.map(() => 1), offset: 0 });

/** Kinds of bad `x`, each → its code (the same for every plugin). */
function badInputs(f: Fixture): [string, unknown, Code][] {
  return [
    ['wrong rank', f.wrongRank, 'E_SHAPE'],
    ['mismatched shape', f.mismatched, 'E_SHAPE'],
    ['empty (size-0 axis)', f.empty, 'E_SHAPE'],
    ['Int32Array data', int32(f.x.shape), 'E_DTYPE'],
    ['Uint8Array data', uint8(f.x.shape), 'E_DTYPE'],
    ['a plain array', plainArray(f.x), 'E_DTYPE'],
    ['nested plain arrays', [[1, 2], [3, 4]], 'E_DTYPE'],
    ['null', null, 'E_DTYPE'],
    ['undefined', undefined, 'E_DTYPE'],
    ['a number', 3, 'E_DTYPE'],
    ['a string', 'x', 'E_DTYPE'],
    ['strides outside the buffer', outOfBuffer(f.x), 'E_SHAPE'],
    ['non-integer shape', badShape(f.x), 'E_SHAPE'],
    ['float32 x for float64 parameters (no silent promotion)', toDtype(f.x, 'float32'), 'E_DTYPE'],
  ];
}

/** Kinds of bad `dy`. */
function badGradients(f: Fixture): [string, unknown, Code][] {
  return [
    ['dy from another call (another shape)', f.otherDy, 'E_SHAPE'],
    ['dy of the wrong rank', f.wrongRank, 'E_SHAPE'],
    ['empty dy', f.empty, 'E_SHAPE'],
    ['Int32Array dy', int32(f.dy.shape), 'E_DTYPE'],
    ['plain-array dy', plainArray(f.dy), 'E_DTYPE'],
    ['null dy', null, 'E_DTYPE'],
  ];
}

/** Kinds of bad `params` (built from the layer's own). */
function badParams(f: Fixture): [string, unknown, Code][] {
  const params = f.layer.params as Record<string, Tensor>;
  const [first] = Object.keys(params);
  const rest = { ...params };
  delete rest[first];
  const p = params[first];
  return [
    [`params.${first} missing`, rest, 'E_STATE'],
    ['an extra parameter', { ...params, gamma: p }, 'E_STATE'],
    [`params.${first} misshapen`, { ...params, [first]: randn([...p.shape.map((d) => d + 1)], 7) }, 'E_SHAPE'],
    [`params.${first} Int32Array`, { ...params, [first]: int32(p.shape.slice()) }, 'E_DTYPE'],
    [`params.${first} a plain array`, { ...params, [first]: plainArray(p) }, 'E_DTYPE'],
    [`params.${first} float32 while x is float64`, { ...params, [first]: toDtype(p, 'float32') }, 'E_DTYPE'],
    ['params null', null, 'E_STATE'],
    ['params with an own "__proto__" key', withOwnKey(params, '__proto__', p), 'E_STATE'],
    ['params with an own "constructor" key', withOwnKey(params, 'constructor', p), 'E_STATE'],
  ];
}

/**
 * Kinds of bad `saved` values: not a forward result at all, and a real forward result (of
 * the fixture's layer, on its good input) with one entry missing, or with a typed array of
 * the wrong length or an input tensor that does not fit the options in its place.
 */
function badSaved(f: Fixture): [string, unknown][] {
  const saved = f.layer.normalizer.forward({ x: f.x, params: f.layer.params, state: f.layer.state, mode: 'train' }).saved as Record<string, unknown>;
  const rows: [string, unknown][] = [
    ['saved null', null],
    ['saved {}', {}],
    ['saved a number', 7],
  ];
  for (const [key, value] of Object.entries(saved)) {
    const { [key]: _dropped, ...without } = saved;
    rows.push([`saved without ${key}`, without]);
    if (value instanceof Float64Array) rows.push([`saved.${key} one value short`, { ...saved, [key]: value.slice(1) }]);
    else if (isTensorLike(value)) rows.push([`saved.${key} of a shape these options refuse`, { ...saved, [key]: f.mismatched }]);
  }
  return rows;
}

function isTensorLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'shape' in value && 'data' in value;
}

/** Kinds of bad state dicts for loadStateDict (from the layer's own). */
function badStateDicts(f: Fixture): [string, unknown, Code, object?][] {
  const dict = f.layer.stateDict() as Record<string, Tensor>;
  const names = Object.keys(dict);
  const [first] = names;
  const t = dict[first];
  const missing = { ...dict };
  delete missing[first];
  const nan = toContiguous(t);
  nan.data[0] = Number.NaN;
  const inf = toContiguous(t);
  inf.data[inf.data.length - 1] = -Infinity;
  const otherDtype = toContiguous(t, 'float32');
  return [
    [`missing ${first} (strict)`, missing, 'E_STATE'],
    ['an extra entry', { ...dict, extra: t }, 'E_STATE'],
    // strict: false skips an extra entry and lists it, as PyTorch's strict=False (tested below);
    // a bad known entry beside it is still refused, and nothing is loaded.
    ['an extra entry, strict: false, beside a misshapen one', { ...dict, extra: t, [first]: randn([...t.shape, 2], 3) }, 'E_STATE', { strict: false }],
    [`${first} misshapen`, { ...dict, [first]: randn([...t.shape, 2], 3) }, 'E_STATE'],
    [`${first} float32 instead of float64`, { ...dict, [first]: otherDtype }, 'E_STATE'],
    [`${first} a string`, { ...dict, [first]: 'abc' }, 'E_STATE'],
    [`${first} a plain array`, { ...dict, [first]: plainArray(t) }, 'E_STATE'],
    [`${first} Int32Array`, { ...dict, [first]: int32(t.shape.slice()) }, 'E_STATE'],
    [`${first} null`, { ...dict, [first]: null }, 'E_STATE'],
    [`${first} with strides outside its buffer`, { ...dict, [first]: outOfBuffer(t) }, 'E_STATE'],
    [`${first} holding NaN`, { ...dict, [first]: nan }, 'E_NONFINITE'],
    [`${first} holding −Infinity`, { ...dict, [first]: inf }, 'E_NONFINITE'],
    ['an own "__proto__" key (JSON.parse)', Object.assign(JSON.parse('{"__proto__": 1}') as object, dict), 'E_STATE'],
    ['an own "constructor" key', withOwnKey(dict, 'constructor', t), 'E_STATE'],
    ['null', null, 'E_STATE'],
    ['a number', 42, 'E_STATE'],
  ];
}

describe.each(FIXTURES.map((make) => [make().name, make] as const))('%s', (_name, make) => {
  const proto = make();

  describe('bound forward (plugin.create(options).forward)', () => {
    it.each(titled(badInputs(proto)))('x: %s', (_k, bad, code) => {
      const f = make();
      const bound = f.layer.normalizer;
      expectRejected(code, f.layer, { x: f.x, bad }, () => bound.forward({ x: bad as Tensor, params: f.layer.params, state: f.layer.state, mode: f.layer.mode }));
    });
    it.each(titled(badParams(proto)))('%s', (_k, bad, code) => {
      const f = make();
      expectRejected(code, f.layer, { x: f.x }, () => f.layer.normalizer.forward({ x: f.x, params: bad as never, state: f.layer.state, mode: 'train' }));
    });
  });

  describe('bound backward', () => {
    it.each(titled(badGradients(proto)))('%s', (_k, bad, code) => {
      const f = make();
      const fwd = f.layer.normalizer.forward({ x: f.x, params: f.layer.params, state: f.layer.state, mode: 'train' });
      expectRejected(code, f.layer, { x: f.x, bad }, () => f.layer.normalizer.backward({ dy: bad as Tensor, params: f.layer.params, saved: fwd.saved }));
    });
    it.each(badSaved(proto))('%s → E_STATE', (label) => {
      const f = make();
      const saved = badSaved(f).find(([k]) => k === label)?.[1];
      expectRejected('E_STATE', f.layer, { dy: f.dy }, () => f.layer.normalizer.backward({ dy: f.dy, params: f.layer.params, saved: saved as never }));
    });
    it.each(titled(badParams(proto)))('%s', (_k, bad, code) => {
      const f = make();
      const fwd = f.layer.normalizer.forward({ x: f.x, params: f.layer.params, state: f.layer.state, mode: 'train' });
      expectRejected(code, f.layer, { dy: f.dy }, () => f.layer.normalizer.backward({ dy: f.dy, params: bad as never, saved: fwd.saved }));
    });
    it('dy of the other dtype is accepted (float32 dy, float64 x): dx has x’s dtype and the value of the float64 call', () => {
      const f = make();
      const fwd = f.layer.normalizer.forward({ x: f.x, params: f.layer.params, state: f.layer.state, mode: 'train' });
      const dy32 = toDtype(f.dy, 'float32');
      const mixed = f.layer.normalizer.backward({ dy: dy32, params: f.layer.params, saved: fwd.saved });
      const same = f.layer.normalizer.backward({ dy: toDtype(dy32, 'float64'), params: f.layer.params, saved: fwd.saved });
      expect(mixed.dx.data).toBeInstanceOf(Float64Array);
      expect(Array.from(valuesOf(mixed.dx))).toEqual(Array.from(valuesOf(same.dx)));
    });
  });

  describe('Layer.forward keeps params, state, grads and the saved context', () => {
    it.each(titled(badInputs(proto)))('x: %s', (_k, bad, code) => {
      const f = make();
      const dx = referenceDx(make);
      expectRejected(code, f.layer, { x: f.x, bad }, () => f.layer.forward(bad as Tensor));
      expectSavedIntact(f, dx);
    });
  });

  describe('Layer.backward', () => {
    it.each(titled(badGradients(proto)))('%s', (_k, bad, code) => {
      const f = make();
      const dx = referenceDx(make);
      expectRejected(code, f.layer, { bad }, () => f.layer.backward(bad as Tensor));
      expectSavedIntact(f, dx);
    });
    it('before any forward call → E_STATE', () => {
      const f = make();
      const fresh = new (f.layer.constructor as new (o: object, i: object) => Layer<any>)(f.options, { dtype: 'float64' });
      expectRejected('E_STATE', fresh, { dy: f.dy }, () => fresh.backward(f.dy));
    });
  });

  describe('Layer.loadStateDict (all or nothing)', () => {
    it.each(titled(badStateDicts(proto)))('%s', (_k, dict, code, options) => {
      const f = make();
      const dx = referenceDx(make);
      expectRejected(code, f.layer, { dict: dict as object }, () => f.layer.loadStateDict(dict as never, options as never));
      expectSavedIntact(f, dx);
    });

    it('strict: false skips an extra entry and lists it, as PyTorch; strict (the default) refuses it', () => {
      const f = make();
      const dict = f.layer.stateDict() as Record<string, Tensor>;
      const extra = dict[Object.keys(dict)[0]];
      expect(f.layer.loadStateDict({ ...dict, extra }, { strict: false })).toEqual({ missingKeys: [], unexpectedKeys: ['extra'] });
      expectRejected('E_STATE', f.layer, { dict }, () => f.layer.loadStateDict({ ...dict, extra } as never));
    });
  });

  describe('options', () => {
    it.each(proto.badOptions)('%s → E_OPTION (resolveOptions, create and the Layer constructor)', (_k, options) => {
      const f = make();
      expectRejected('E_OPTION', null, {}, () => f.layer.plugin.resolveOptions(options as never));
      expectRejected('E_OPTION', null, {}, () => f.layer.plugin.create(options as never));
      const Ctor = f.layer.constructor as new (o: unknown, i: object) => Layer<any>;
      expectRejected('E_OPTION', null, {}, () => new Ctor(options, { dtype: 'float64' }));
    });
    it('a mode other than train/eval → E_OPTION', () => {
      const f = make();
      expectRejected('E_OPTION', f.layer, { x: f.x }, () => f.layer.normalizer.forward({ x: f.x, params: f.layer.params, state: f.layer.state, mode: 'test' as never }));
    });
    it('Layer init.dtype other than float32/float64 → E_OPTION', () => {
      const f = make();
      const Ctor = f.layer.constructor as new (o: unknown, i: object) => Layer<any>;
      expectRejected('E_OPTION', null, {}, () => new Ctor(f.options, { dtype: 'int32' }));
    });
  });

  it('dy from another call of the same shape cannot be detected (documented): it is accepted', () => {
    const f = make();
    const other = randn(f.dy.shape, 1234);
    expect(() => f.layer.backward(other)).not.toThrow();
  });
});

describe('plugin-specific rejections', () => {
  it('channelAxis: null is refused like any other non-integer (it was read as the default 1) in every plugin of the family', () => {
    const creates: [string, () => unknown][] = [
      ['batch-norm', () => batchNorm.create({ numFeatures: 3, channelAxis: null as never })],
      ['batch-renorm', () => batchRenorm.create({ numFeatures: 3, channelAxis: null as never })],
      ['ghost-batch-norm', () => ghostBatchNorm.create({ numFeatures: 3, virtualBatchSize: 2, channelAxis: null as never })],
      ['group-norm', () => groupNorm.create({ numGroups: 1, numChannels: 3, channelAxis: null as never })],
      ['instance-norm', () => instanceNorm.create({ numFeatures: 3, channelAxis: null as never })],
      ['sync-batch-norm', () => syncBatchNorm.create({ numFeatures: 3, channelAxis: null as never })],
    ];
    for (const [name, create] of creates) {
      const error = thrownError(create);
      expect(error.code, name).toBe('E_OPTION');
      expect(error.message).toContain(`${name} options.channelAxis: expected a`);
      expect(error.message).toContain('got null');
    }
  });

  it('batch norm: state entries missing, extra or misshapen', () => {
    const f = FIXTURES[0]();
    const state = f.layer.state as Record<string, Tensor>;
    const { runningMean, ...noMean } = state;
    const cases: [unknown, Code][] = [
      [noMean, 'E_STATE'],
      [{ ...state, extra: runningMean }, 'E_STATE'],
      [{ ...state, runningMean: randn([4], 1) }, 'E_SHAPE'],
      [{ ...state, runningVar: int32([3]) }, 'E_DTYPE'],
      [null, 'E_STATE'],
      [withOwnKey(state, 'constructor', runningMean), 'E_STATE'],
    ];
    for (const [bad, code] of cases) {
      expectRejected(code, f.layer, { x: f.x }, () => f.layer.normalizer.forward({ x: f.x, params: f.layer.params, state: bad as never, mode: 'train' }));
    }
  });

  it('batch norm: floating state of the other dtype than x → E_DTYPE; the step counter must be float64 whatever x is', () => {
    const f = FIXTURES[0]();
    const state = f.layer.state as Record<string, Tensor>;
    const params = f.layer.params as Record<string, Tensor>;
    const x32 = toDtype(f.x, 'float32');
    const params32 = { weight: toDtype(params.weight, 'float32'), bias: toDtype(params.bias, 'float32') };
    const cases: [Tensor, Record<string, Tensor>, Record<string, Tensor>][] = [
      [f.x, params, { ...state, runningMean: toDtype(state.runningMean, 'float32') }],
      [f.x, params, { ...state, runningVar: toDtype(state.runningVar, 'float32') }],
      [f.x, params, { ...state, numBatchesTracked: toDtype(state.numBatchesTracked, 'float32') }],
      // float32 x with float32 parameters and running statistics: the counter stays float64.
      [x32, params32, { ...state, runningMean: toDtype(state.runningMean, 'float32'), runningVar: toDtype(state.runningVar, 'float32'), numBatchesTracked: toDtype(state.numBatchesTracked, 'float32') }],
      // float32 x with float64 running statistics.
      [x32, params32, state],
    ];
    for (const mode of ['train', 'eval'] as const) {
      for (const [x, p, s] of cases) {
        expectRejected('E_DTYPE', f.layer, { x, ...p, ...s }, () => f.layer.normalizer.forward({ x, params: p, state: s, mode }));
      }
    }
    // The same float32 call with a float64 counter is accepted.
    const ok = { runningMean: toDtype(state.runningMean, 'float32'), runningVar: toDtype(state.runningVar, 'float32'), numBatchesTracked: state.numBatchesTracked };
    expect(f.layer.normalizer.forward({ x: x32, params: params32, state: ok, mode: 'train' }).state.numBatchesTracked?.data).toBeInstanceOf(Float64Array);
  });

  it('batch norm: one value per channel with batch statistics → E_DEGENERATE (train, and eval without running statistics)', () => {
    const f = FIXTURES[0]();
    expectRejected('E_DEGENERATE', f.layer, {}, () => f.layer.forward(randn([1, 3], 5)));
    expectRejected('E_DEGENERATE', f.layer, {}, () => f.layer.forward(randn([1, 3, 1, 1], 5)));
    f.layer.eval();
    expect(() => f.layer.forward(randn([1, 3], 5))).not.toThrow(); // eval uses running statistics
  });

  it('batch norm: a channel axis the input lacks → E_OPTION', () => {
    const f = FIXTURES[0]();
    const bound = f.layer.plugin.create({ numFeatures: 3, channelAxis: 5 });
    expectRejected('E_OPTION', f.layer, { x: f.x }, () => bound.forward({ x: f.x, params: f.layer.params, state: f.layer.state, mode: 'train' }));
  });

  it('weight norm: a zero-norm slice without eps → E_DEGENERATE; with eps it is finite', () => {
    const f = FIXTURES[2]();
    const v = toContiguous(f.x);
    for (let j = 0; j < 4; j++) v.set(1, j, 0);
    expectRejected('E_DEGENERATE', f.layer, { v }, () => f.layer.forward(v));
    const withEps = f.layer.plugin.create({ shape: [3, 4], dim: 0, eps: 1e-6 });
    const out = withEps.forward({ x: v, params: f.layer.params, state: {}, mode: 'train' });
    expect(valuesOf(out.y).every(Number.isFinite)).toBe(true);
  });

  it('weight-norm-linear: a zero row of v → E_DEGENERATE; initFromBatch with < 2 rows or a constant unit → E_DEGENERATE', () => {
    const f = FIXTURES[3]();
    const layer = f.layer as WeightNormLinear;
    const params = layer.params as Record<string, Tensor>;
    const v = toContiguous(params.v);
    for (let i = 0; i < 4; i++) v.set(2, i, 0);
    expectRejected('E_DEGENERATE', layer, { x: f.x }, () => layer.normalizer.forward({ x: f.x, params: { ...params, v }, state: {}, mode: 'train' }));
    expectRejected('E_DEGENERATE', layer, {}, () => layer.initFromBatch(randn([1, 4], 3)));
    expectRejected('E_DEGENERATE', layer, {}, () => layer.initFromBatch(full([6, 4], 'float64', 2)));
    expectRejected('E_SHAPE', layer, {}, () => layer.initFromBatch(randn([6, 5], 3)));
    expectRejected('E_DTYPE', layer, {}, () => layer.initFromBatch([[1, 2, 3, 4]] as never));
    expectRejected('E_OPTION', null, {}, () => initFromBatch(params, f.x, { inFeatures: 4, outFeatures: 3, eps: -1 }));
  });
});
