import { describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import { fromArray, isNormkitError, zeros } from '@normkit/core';
import type { NormkitErrorCode, Tensor } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { layerNorm } from './index.js';
import type { LayerNormSaved } from './index.js';

/** A bitwise snapshot of a tensor's whole buffer and view. */
function snapshot(t: unknown): string {
  if (typeof t !== 'object' || t === null || !('data' in t)) return JSON.stringify(t);
  const v = t as Tensor;
  const bytes = ArrayBuffer.isView(v.data) ? Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('hex') : JSON.stringify(v.data);
  return JSON.stringify([v.shape, v.stride, v.offset]) + bytes;
}

function thrownCode(run: () => unknown): { code: NormkitErrorCode | undefined; message: string } {
  try {
    run();
  } catch (e) {
    if (isNormkitError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  return { code: undefined, message: '' };
}

const ln4 = layerNorm.create({ normalizedShape: [4] });
const ln34 = layerNorm.create({ normalizedShape: [3, 4] });
const lnNoBias = layerNorm.create({ normalizedShape: [4], bias: false });
const lnNoAffine = layerNorm.create({ normalizedShape: [4], elementwiseAffine: false });

interface ForwardCase {
  readonly what: string;
  readonly code: NormkitErrorCode;
  readonly x: unknown;
  readonly params: Record<string, unknown>;
  /** The layer norm bound to the options of the case. */
  readonly normalizer: typeof ln4;
  readonly mode?: unknown;
  readonly messageContains?: readonly string[];
}

const w4 = () => randn([4], 11);
const b4 = () => randn([4], 12);

const forwardCases: ForwardCase[] = [
  {
    what: 'trailing shape mismatch',
    code: 'E_SHAPE',
    x: randn([2, 6, 3], 1),
    params: { weight: w4(), bias: b4() },
    normalizer: ln4,
    messageContains: ['[4]', '[2, 6, 3]'],
  },
  {
    what: 'trailing shape mismatch on the second-last axis',
    code: 'E_SHAPE',
    x: randn([2, 4, 4], 1),
    params: { weight: randn([3, 4], 2), bias: randn([3, 4], 3) },
    normalizer: ln34,
    messageContains: ['[3, 4]', '[2, 4, 4]'],
  },
  {
    what: 'rank smaller than normalizedShape.length',
    code: 'E_SHAPE',
    x: randn([4], 1),
    params: { weight: randn([3, 4], 2), bias: randn([3, 4], 3) },
    normalizer: ln34,
    messageContains: ['[3, 4]', '[4]'],
  },
  { what: 'a 0-d x', code: 'E_SHAPE', x: fromArray([1], [], 'float64'), params: { weight: w4(), bias: b4() }, normalizer: ln4 },
  {
    what: 'weight of the wrong shape',
    code: 'E_SHAPE',
    x: randn([3, 4], 1),
    params: { weight: randn([5], 2), bias: b4() },
    normalizer: ln4,
    messageContains: ['params.weight', '[4]', '[5]'],
  },
  {
    what: 'bias of the wrong shape',
    code: 'E_SHAPE',
    x: randn([3, 4], 1),
    params: { weight: w4(), bias: randn([1, 4], 2) },
    normalizer: ln4,
    messageContains: ['params.bias', '[1, 4]'],
  },
  {
    what: 'weight with the right size but flattened shape',
    code: 'E_SHAPE',
    x: randn([2, 3, 4], 1),
    params: { weight: randn([12], 2), bias: randn([3, 4], 3) },
    normalizer: ln34,
  },
  { what: 'x as a plain array', code: 'E_DTYPE', x: [[1, 2, 3, 4]], params: { weight: w4(), bias: b4() }, normalizer: ln4 },
  { what: 'x as an Int32Array ndarray', code: 'E_DTYPE', x: ndarray(new Int32Array(8), [2, 4]), params: { weight: w4(), bias: b4() }, normalizer: ln4 },
  { what: 'x as a plain-array ndarray', code: 'E_DTYPE', x: ndarray([1, 2, 3, 4], [1, 4]), params: { weight: w4(), bias: b4() }, normalizer: ln4 },
  { what: 'x undefined', code: 'E_DTYPE', x: undefined, params: { weight: w4(), bias: b4() }, normalizer: ln4 },
  {
    what: 'weight as an Int32Array ndarray',
    code: 'E_DTYPE',
    x: randn([3, 4], 1),
    params: { weight: ndarray(new Int32Array(4), [4]), bias: b4() },
    normalizer: ln4,
  },
  { what: 'bias as a plain array', code: 'E_DTYPE', x: randn([3, 4], 1), params: { weight: w4(), bias: [0, 0, 0, 0] }, normalizer: ln4 },
  { what: 'a missing weight', code: 'E_STATE', x: randn([3, 4], 1), params: { bias: b4() }, normalizer: ln4 },
  { what: 'a missing bias', code: 'E_STATE', x: randn([3, 4], 1), params: { weight: w4() }, normalizer: ln4 },
  { what: 'a bias when bias is false', code: 'E_STATE', x: randn([3, 4], 1), params: { weight: w4(), bias: b4() }, normalizer: lnNoBias },
  { what: 'a weight when elementwiseAffine is false', code: 'E_STATE', x: randn([3, 4], 1), params: { weight: w4() }, normalizer: lnNoAffine },
  { what: 'an unknown mode', code: 'E_OPTION', x: randn([3, 4], 1), params: { weight: w4(), bias: b4() }, normalizer: ln4, mode: 'test' },
  {
    what: 'float32 weight with float64 x (the dtype rule)',
    code: 'E_DTYPE',
    x: randn([3, 4], 1),
    params: { weight: randn([4], 11, 'float32'), bias: b4() },
    normalizer: ln4,
    messageContains: ['params.weight', 'float64', 'float32', "layer.to('float64')", "toDtype(x, 'float32')"],
  },
  {
    what: 'float64 bias with float32 x (the dtype rule)',
    code: 'E_DTYPE',
    x: randn([3, 4], 1, 'float32'),
    params: { weight: randn([4], 11, 'float32'), bias: b4() },
    normalizer: ln4,
    messageContains: ['params.bias', 'float32', 'float64', 'to('],
  },
  {
    what: 'x whose strides address outside its buffer',
    code: 'E_SHAPE',
    x: ndarray(new Float64Array(8), [3, 4], [4, 1], 0),
    params: { weight: w4(), bias: b4() },
    normalizer: ln4,
  },
];

describe('forward: bad inputs throw before computing and change nothing', () => {
  for (const c of forwardCases) {
    it(`${c.what} → ${c.code}`, () => {
      const before = [snapshot(c.x), ...Object.values(c.params).map(snapshot)];
      const state = {};
      const { code, message } = thrownCode(() =>
        c.normalizer.forward({ x: c.x as Tensor, params: c.params as Record<string, Tensor>, state, mode: (c.mode ?? 'train') as 'train' }),
      );
      expect(code).toBe(c.code);
      for (const part of c.messageContains ?? []) expect(message).toContain(part);
      expect([snapshot(c.x), ...Object.values(c.params).map(snapshot)]).toEqual(before);
      expect(state).toEqual({});
    });
  }

  it('eps ≤ 0 is rejected with E_OPTION when the options are resolved, before any forward', () => {
    for (const eps of [0, -1e-5]) {
      expect(thrownCode(() => layerNorm.resolveOptions({ normalizedShape: 4, eps })).code).toBe('E_OPTION');
    }
  });
});

describe('backward: bad inputs', () => {
  const x = randn([3, 4], 1);
  const params = { weight: w4(), bias: b4() };
  const { saved } = ln4.forward({ x, params, state: {}, mode: 'train' });

  const cases: { what: string; code: NormkitErrorCode; dy: unknown; saved?: unknown; params?: Record<string, unknown> }[] = [
    { what: 'dy of another shape', code: 'E_SHAPE', dy: randn([4, 3], 2) },
    { what: 'dy of another rank', code: 'E_SHAPE', dy: randn([12], 2) },
    { what: 'dy as an Int32Array ndarray', code: 'E_DTYPE', dy: ndarray(new Int32Array(12), [3, 4]) },
    { what: 'dy as a plain array', code: 'E_DTYPE', dy: [1, 2, 3] },
    { what: 'saved from nothing', code: 'E_STATE', dy: randn([3, 4], 2), saved: null },
    { what: 'saved without invStd', code: 'E_STATE', dy: randn([3, 4], 2), saved: { x: saved.x, center: saved.center, batchStats: true } },
    { what: 'saved with a float32 center', code: 'E_STATE', dy: randn([3, 4], 2), saved: { ...saved, center: new Float32Array(3) } },
    { what: 'saved with a center tensor (the old saved shape)', code: 'E_STATE', dy: randn([3, 4], 2), saved: { ...saved, center: zeros([3], 'float64') } },
    { what: 'saved with a misshapen invStd', code: 'E_STATE', dy: randn([3, 4], 2), saved: { ...saved, invStd: new Float64Array(4).fill(1) } },
    { what: 'saved without the batchStats flag', code: 'E_STATE', dy: randn([3, 4], 2), saved: { x: saved.x, center: saved.center, invStd: saved.invStd } },
    { what: 'a float32 weight for the float64 forward input', code: 'E_DTYPE', dy: randn([3, 4], 2), params: { weight: randn([4], 11, 'float32'), bias: b4() } },
    { what: 'a weight of the wrong shape', code: 'E_SHAPE', dy: randn([3, 4], 2), params: { weight: randn([3], 3), bias: b4() } },
  ];
  for (const c of cases) {
    it(`${c.what} → ${c.code}, nothing changed`, () => {
      const usedParams = c.params ?? params;
      const before = [snapshot(c.dy), snapshot(x), ...Object.values(usedParams).map(snapshot)];
      const { code } = thrownCode(() =>
        ln4.backward({ dy: c.dy as Tensor, params: usedParams as Record<string, Tensor>, saved: (c.saved === undefined ? saved : c.saved) as LayerNormSaved }),
      );
      expect(code).toBe(c.code);
      expect([snapshot(c.dy), snapshot(x), ...Object.values(usedParams).map(snapshot)]).toEqual(before);
    });
  }

  it('saved from other options → E_STATE', () => {
    const other = layerNorm.create({ normalizedShape: [3, 4], elementwiseAffine: false });
    expect(thrownCode(() => other.backward({ dy: randn([3, 4], 2), params: {}, saved })).code).toBe('E_STATE');
  });
});

describe('successful calls never mutate their inputs', () => {
  it('forward and backward leave x, params and dy bitwise unchanged (float32 and float64, strided)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = randn([4, 3, 5], 21, dtype).transpose(1, 0, 2);
      const params = { weight: randn([5], 22, dtype), bias: randn([5], 23, dtype) };
      const dy = randn([3, 4, 5], 24, dtype);
      const ln = layerNorm.create({ normalizedShape: 5 });
      const before = [snapshot(x), snapshot(params.weight), snapshot(params.bias), snapshot(dy)];
      const { saved } = ln.forward({ x, params, state: {}, mode: 'train' });
      ln.backward({ dy, params, saved });
      expect([snapshot(x), snapshot(params.weight), snapshot(params.bias), snapshot(dy)]).toEqual(before);
    }
  });
});
