import { batchNorm } from '@normkit/batch-norm';
import { fromArray, recalibrate, toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import type { AllReduce } from './all-reduce.js';
import { SyncBatchNorm } from './layer.js';
import { syncBatchNorm } from './plugin.js';

function maxDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  const x = toTypedArray(toContiguous(a as Tensor));
  const y = toTypedArray(toContiguous(b as Tensor));
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** Rank 0 of a pretend group of 2 that records aborts and refuses to sum (no peer here). */
function recordingGroup(): AllReduce & { aborts: string[]; sums: number } {
  const group = {
    rank: 0,
    size: 2,
    aborts: [] as string[],
    sums: 0,
    sum(values: Float64Array) {
      void values;
      group.sums++;
      throw new Error('no peer in this test');
    },
    abort(reason: string) {
      group.aborts.push(reason);
    },
  };
  return group;
}

describe('sync batch norm in one process (loopbackAllReduce) is batch norm, exactly', () => {
  const cases = [
    { options: { numFeatures: 3 }, shape: [6, 3, 4] },
    { options: { numFeatures: 3, affine: false }, shape: [5, 3] },
    { options: { numFeatures: 2, momentum: null }, shape: [3, 2, 2, 3] },
    { options: { numFeatures: 4, channelAxis: -1 }, shape: [2, 3, 4] },
    { options: { numFeatures: 2, trackRunningStats: false }, shape: [4, 2, 3] },
  ] as const;
  for (const dtype of ['float64', 'float32'] as const) {
    for (const { options, shape } of cases) {
      it(`${JSON.stringify(options)} on [${shape.join(', ')}] in ${dtype}: y, dx, dγ, dβ and the running statistics agree bit for bit, in train and eval`, () => {
        const sync = syncBatchNorm.create(options);
        const bn = batchNorm.create(options);
        const init = bn.init(dtype);
        const params = 'weight' in init.params ? { weight: randn([options.numFeatures], 7, dtype, 1, 0.5), bias: randn([options.numFeatures], 8, dtype) } : {};
        const x = randn([...shape], 1, dtype, 0.5, 2);
        const dy = randn([...shape], 2, dtype);
        for (const mode of ['train', 'eval'] as const) {
          const a = sync.forward({ x, params, state: init.state, mode });
          const b = bn.forward({ x, params, state: init.state, mode });
          expect(maxDiff(a.y, b.y)).toBe(0);
          for (const name of Object.keys(init.state) as ('runningMean' | 'runningVar' | 'numBatchesTracked')[]) {
            expect(maxDiff(a.state[name], b.state[name])).toBe(0);
          }
          const ga = sync.backward({ dy, params, saved: a.saved });
          const gb = bn.backward({ dy, params, saved: b.saved });
          expect(maxDiff(ga.dx, gb.dx)).toBe(0);
          if ('weight' in params) {
            expect(maxDiff(ga.grads.weight, gb.grads.weight)).toBe(0);
            expect(maxDiff(ga.grads.bias, gb.grads.bias)).toBe(0);
          }
        }
      });
    }
  }
});

describe('sync batch norm: options and failures', () => {
  it('refuses a malformed allReduce and unknown options (E_OPTION)', () => {
    expect(errorCode(() => syncBatchNorm.create({ numFeatures: 2, allReduce: {} as never }))).toBe('E_OPTION');
    expect(errorCode(() => syncBatchNorm.create({ numFeatures: 2, allReduce: { rank: 2, size: 2, sum() {}, abort() {} } }))).toBe('E_OPTION');
    expect(errorCode(() => syncBatchNorm.create({ numFeatures: 2, processGroup: null } as never))).toBe('E_OPTION');
  });

  it('a train call that fails before its collective step aborts the group (the others must not wait); eval does not', () => {
    const group = recordingGroup();
    const sync = syncBatchNorm.create({ numFeatures: 2, allReduce: group });
    const { params, state } = sync.init('float64');
    expect(errorCode(() => sync.forward({ x: zeros([3, 5], 'float64'), params, state, mode: 'train' }))).toBe('E_SHAPE');
    expect(group.aborts).toHaveLength(1);
    expect(group.aborts[0]).toMatch(/^rank 0: x: expected 2 channels/);
    expect(group.sums).toBe(0);
    expect(errorCode(() => sync.forward({ x: zeros([3, 5], 'float64'), params, state, mode: 'eval' }))).toBe('E_SHAPE');
    expect(group.aborts).toHaveLength(1);
    // eval needs no peer
    expect(errorCode(() => sync.forward({ x: randn([3, 2], 1), params, state, mode: 'eval' }))).toBeUndefined();
    // a failing transport is reported to the group too
    expect(() => sync.forward({ x: randn([3, 2], 1), params, state, mode: 'train' })).toThrow(/no peer/);
    expect(group.aborts).toHaveLength(2);
    expect(Array.from(toTypedArray(state.numBatchesTracked!))).toEqual([0]);
  });

  it('declares no invariant per share in a group (Σ dx = 0 holds for the concatenated batch only)', () => {
    const alone = syncBatchNorm.create({ numFeatures: 2 });
    const inGroup = syncBatchNorm.create({ numFeatures: 2, allReduce: recordingGroup() });
    expect(alone.invariants!('train', [4, 2])).toHaveLength(1);
    expect(inGroup.invariants!('train', [4, 2])).toHaveLength(0);
  });

  it('one value per channel in one process is E_DEGENERATE, as batch norm', () => {
    const sync = syncBatchNorm.create({ numFeatures: 2 });
    const { params, state } = sync.init('float64');
    expect(errorCode(() => sync.forward({ x: randn([1, 2], 1), params, state, mode: 'train' }))).toBe('E_DEGENERATE');
    expect(Array.from(toTypedArray(state.runningVar!))).toEqual([1, 1]);
  });

  it("an empty share (PyTorch's SyncBatchNorm): count 0 in the all-gather, zeros in the all-reduce; empty y and dx, zero dγ and dβ, the others' running statistics (1e-14)", () => {
    // A pretend group of 2: rank 1 holds a (5, 2) batch; its block of the all-gather is [count, mean_c…, m2_c…].
    const peerX = randn([5, 2], 7, 'float64');
    const values = toTypedArray(peerX);
    const mean = [0, 1].map((c) => (values[c] + values[2 + c] + values[4 + c] + values[6 + c] + values[8 + c]) / 5);
    const m2 = [0, 1].map((c) => [0, 1, 2, 3, 4].reduce((acc, n) => acc + (values[2 * n + c] - mean[c]) ** 2, 0));
    const sent: number[][] = [];
    const group: AllReduce = {
      rank: 0,
      size: 2,
      sum(buffer: Float64Array) {
        sent.push(Array.from(buffer));
        if (buffer.length === 10) buffer.set([5, ...mean, ...m2], 5);
      },
      abort() {},
    };
    const sync = syncBatchNorm.create({ numFeatures: 2, allReduce: group });
    const { params, state } = sync.init('float64');
    const empty = zeros([0, 2], 'float64');
    const { y, state: next, saved } = sync.forward({ x: empty, params, state, mode: 'train', out: zeros([0, 2], 'float64') });
    expect(y.shape).toEqual([0, 2]);
    expect(sent[0]).toEqual(new Array(10).fill(0));
    const bn = batchNorm.create({ numFeatures: 2 });
    const reference = bn.forward({ x: peerX, params, state, mode: 'train' }).state;
    for (const name of ['runningMean', 'runningVar', 'numBatchesTracked'] as const) expect(maxDiff(next[name], reference[name])).toBeLessThan(1e-14);
    const { dx, grads } = sync.backward({ dy: zeros([0, 2], 'float64'), params, saved });
    expect(dx.shape).toEqual([0, 2]);
    expect(sent[1]).toEqual([0, 0, 0, 0]);
    expect(Array.from(toTypedArray(grads.weight!))).toEqual([0, 0]);
    expect(Array.from(toTypedArray(grads.bias!))).toEqual([0, 0]);
    // eval: local, nothing to compute with running statistics; without them, no statistics to take
    expect(sync.forward({ x: empty, params, state: next, mode: 'eval' }).y.shape).toEqual([0, 2]);
    expect(sent).toHaveLength(2);
    const untracked = syncBatchNorm.create({ numFeatures: 2, trackRunningStats: false, allReduce: group });
    expect(errorCode(() => untracked.forward({ x: empty, params, state: {}, mode: 'eval' }))).toBe('E_DEGENERATE');
  });

  it('an empty input in one process is E_DEGENERATE in train (no values over all participants), the layer unchanged', () => {
    const layer = new SyncBatchNorm({ numFeatures: 2 }, { dtype: 'float64' });
    expect(errorCode(() => layer.forward(zeros([0, 2], 'float64')))).toBe('E_DEGENERATE');
    expect(Array.from(toTypedArray(layer.runningVar!))).toEqual([1, 1]);
    expect(Array.from(toTypedArray(layer.state.numBatchesTracked!))).toEqual([0]);
  });

  it('recalibrate leaves out a batch whose every share is empty (it was read as values at 0): mean 13, unbiased variance 20/3 from the one batch with values', () => {
    // rank 0 of a pretend group of 2 whose peer has no values in either batch (it sends zeros)
    const group: AllReduce = { rank: 0, size: 2, sum() {}, abort() {} };
    const layer = new SyncBatchNorm({ numFeatures: 1, allReduce: group }, { dtype: 'float64' });
    recalibrate([layer], [[fromArray([10, 12, 14, 16], [4, 1], 'float64')], [zeros([0, 1], 'float64')]]);
    expect(toTypedArray(layer.runningMean!)[0]).toBeCloseTo(13, 12);
    expect(toTypedArray(layer.runningVar!)[0]).toBeCloseTo(20 / 3, 12);
  });
});
