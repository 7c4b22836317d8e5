import { batchNorm } from '@normkit/batch-norm';
import { toContiguous, toTypedArray, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { errorCode, randn } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import type { AllReduce } from './all-reduce.js';
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
});
