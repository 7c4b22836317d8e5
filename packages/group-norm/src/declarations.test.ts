import { CONTRACT_DTYPES, normalizeAxis, planNormalization } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { groupNorm } from './plugin.js';

// What group norm declares for @normkit/gradcheck: large shapes that reach the engine's
// layouts, the contract's dtype rule, mode independence (no running statistics).

describe('declarations', () => {
  it('the contract\'s dtype rule, mode independence, no state update', () => {
    const bound = groupNorm.create({ numGroups: 2, numChannels: 4 });
    expect(bound.dtypes).toEqual(CONTRACT_DTYPES);
    expect(bound.modeIndependent).toBe(true);
    expect(bound.stateUpdate).toBeUndefined();
  });

  /** The blocks of the statistics of each large shape: x read as (N, …, G, C/G, …), groups over (N, G). */
  const blocksOf = (options: { numGroups: number; numChannels: number; channelAxis?: number }) =>
    groupNorm
      .create(options)
      .largeShapes!()
      .map((shape) => {
        const axis = normalizeAxis(options.channelAxis ?? 1, shape.length, 'channelAxis');
        const split = [...shape.slice(0, axis), options.numGroups, options.numChannels / options.numGroups, ...shape.slice(axis + 1)];
        return planNormalization(split, [0, axis], [axis, axis + 1]).statsBlocks!;
      });

  it('every large option set binds and its large shapes reach the planes layout; channels last with several groups, A > 1', () => {
    for (const options of groupNorm.largeOptions!) expect(groupNorm.create(options).largeShapes!().length).toBeGreaterThan(0);
    expect(blocksOf({ numGroups: 2, numChannels: 4 }).some((b) => b.D > 4 && b.D % 4 !== 0)).toBe(true);
    // Ranks 3 and 4 (rank 2 has no spatial axis to separate the samples from the groups).
    const last = blocksOf({ numGroups: 2, numChannels: 6, channelAxis: -1 }).slice(1);
    expect(last.length).toBe(2);
    expect(last.every((b) => b.A > 1 && b.C === 2 && b.D === 3 && b.B > 4)).toBe(true);
  });

  it('the rank-2 large shape has 67 samples: the rows layout with rows four at a time and a remainder', () => {
    const shape = groupNorm.create({ numGroups: 2, numChannels: 4 }).largeShapes!()[0];
    expect(shape).toEqual([67, 4]);
    const plan = planNormalization([67, 2, 2], [0, 1], [1, 2]);
    expect(plan.affine).toMatchObject({ kind: 'rows', rows: 134 });
  });
});
