import { describe, expect, it } from 'vitest';
import { countOf, forEachIndex, jointIndex } from '../../test/views.js';
import { planCache } from './ops.js';
import type { NormPlan } from './plan.js';
import { blocksOf, indexMap, planNormalization } from './plan.js';

describe('indexMap', () => {
  it('is the row-major index over the given axes, stride 0 elsewhere', () => {
    expect(indexMap([2, 3, 4, 5], [1])).toEqual({ count: 3, strides: [0, 1, 0, 0] });
    expect(indexMap([2, 3, 4, 5], [0, 3])).toEqual({ count: 10, strides: [5, 0, 0, 1] });
    expect(indexMap([2, 3, 4, 5], [1, 2, 3])).toEqual({ count: 60, strides: [0, 20, 5, 1] });
    expect(indexMap([2, 3], [])).toEqual({ count: 1, strides: [0, 0] });
  });

  it('gives every position the joint index of its axes', () => {
    const shape = [3, 2, 4];
    for (const axes of [[0], [2], [0, 2], [0, 1, 2]]) {
      const map = indexMap(shape, axes);
      forEachIndex(shape, (index) => {
        const flat = index.reduce((sum, i, k) => sum + i * map.strides[k], 0);
        expect(flat).toBe(jointIndex(index, shape, axes));
      });
    }
  });
});

describe('blocksOf', () => {
  it('reads the common layouts as (A, B, C, D) blocks', () => {
    // batch norm, channels first and channels last
    expect(blocksOf([2, 3, 4, 5], [1])).toEqual({ A: 1, B: 2, C: 3, D: 20 });
    expect(blocksOf([2, 4, 5, 3], [3])).toEqual({ A: 1, B: 40, C: 3, D: 1 });
    // layer norm (rows, features), instance norm channels first and channels last
    expect(blocksOf([6, 7], [0])).toEqual({ A: 1, B: 1, C: 6, D: 7 });
    expect(blocksOf([2, 3, 4, 5], [0, 1])).toEqual({ A: 1, B: 1, C: 6, D: 20 });
    expect(blocksOf([2, 4, 5, 3], [0, 3])).toEqual({ A: 2, B: 20, C: 3, D: 1 });
    // everything reduced, or everything kept
    expect(blocksOf([2, 3, 4, 5], [])).toEqual({ A: 1, B: 1, C: 1, D: 120 });
    expect(blocksOf([2, 3], [0, 1])).toEqual({ A: 1, B: 1, C: 6, D: 1 });
    // kept, reduced, kept, reduced
    expect(blocksOf([2, 3, 4, 5], [0, 2])).toEqual({ A: 2, B: 3, C: 4, D: 5 });
  });

  it('drops axes of size 1 and merges adjacent axes of one kind', () => {
    expect(blocksOf([2, 1, 3, 1, 4], [2])).toEqual({ A: 1, B: 2, C: 3, D: 4 });
    expect(blocksOf([2, 3, 1, 4], [0, 3])).toEqual({ A: 2, B: 3, C: 4, D: 1 });
    // a kept axis of size 1 between reduced ones does not split them
    expect(blocksOf([2, 1, 3], [1])).toEqual({ A: 1, B: 1, C: 1, D: 6 });
    expect(blocksOf([1, 1], [0])).toEqual({ A: 1, B: 1, C: 1, D: 1 });
  });

  it('is null when the kept and reduced axes alternate more than kept? reduced? kept? reduced? allows', () => {
    expect(blocksOf([2, 3, 4, 5], [1, 3])).toBeNull();
    expect(blocksOf([2, 3, 4, 5, 6], [0, 2, 4])).toBeNull();
    expect(blocksOf([2, 3, 4, 5, 6], [1, 3])).toBeNull();
  });

  it('puts position (a, b, c, d) of a row-major input at offset ((a·B + b)·C + c)·D + d with cell a·C + c', () => {
    const shape = [2, 3, 4, 2, 5];
    const kept = [0, 2, 3];
    const blocks = blocksOf(shape, kept);
    expect(blocks).toEqual({ A: 2, B: 3, C: 8, D: 5 });
    const { B, C, D } = blocks as { A: number; B: number; C: number; D: number };
    forEachIndex(shape, (index, flat) => {
      const a = index[0];
      const b = index[1];
      const c = index[2] * 2 + index[3];
      const d = index[4];
      expect(((a * B + b) * C + c) * D + d).toBe(flat);
      expect(a * C + c).toBe(jointIndex(index, shape, kept));
    });
  });
});

/** What a plan says about a position, checked against a plain computation. */
function checkPlanAgainstDefinition(plan: NormPlan): void {
  const { shape, groupAxes, paramAxes } = plan;
  const size = shape.reduce((a, b) => a * b, 1);
  expect(plan.groups).toBe(countOf(shape, groupAxes));
  expect(plan.count).toBe(size / plan.groups);
  expect(plan.params).toBe(paramAxes === null ? 0 : countOf(shape, paramAxes));
  forEachIndex(shape, (index) => {
    const group = index.reduce((sum, i, k) => sum + i * plan.groupIndex.strides[k], 0);
    expect(group).toBe(jointIndex(index, shape, groupAxes));
    if (paramAxes !== null && plan.paramIndex !== null) {
      const param = index.reduce((sum, i, k) => sum + i * (plan.paramIndex as { strides: readonly number[] }).strides[k], 0);
      expect(param).toBe(jointIndex(index, shape, paramAxes));
    }
    if (plan.affine.kind === 'cells') {
      const { cellIndex, cellGroup, cellParam } = plan.affine;
      const cell = index.reduce((sum, i, k) => sum + i * cellIndex.strides[k], 0);
      expect(cellGroup[cell]).toBe(jointIndex(index, shape, groupAxes));
      if (paramAxes !== null) expect((cellParam as Int32Array)[cell]).toBe(jointIndex(index, shape, paramAxes));
      else expect(cellParam).toBeNull();
    }
  });
}

describe('planNormalization', () => {
  it('batch norm on (N, C, H, W): 3 groups of 128, per-channel parameters, cells = channels', () => {
    const plan = planNormalization([8, 3, 4, 4], [1], [1]);
    expect(plan.groups).toBe(3);
    expect(plan.count).toBe(128);
    expect(plan.params).toBe(3);
    expect(plan.statsBlocks).toEqual({ A: 1, B: 8, C: 3, D: 16 });
    expect(plan.affine.kind).toBe('cells');
    if (plan.affine.kind === 'cells') {
      expect(plan.affine.cells).toBe(3);
      expect(Array.from(plan.affine.cellGroup)).toEqual([0, 1, 2]);
      expect(Array.from(plan.affine.cellParam as Int32Array)).toEqual([0, 1, 2]);
    }
    checkPlanAgainstDefinition(plan);
  });

  it('instance norm on channels-last (N, H, W, C): groups (n, c), parameters c, one cell per group', () => {
    const plan = planNormalization([2, 3, 3, 4], [0, 3], [3]);
    expect(plan.groups).toBe(8);
    expect(plan.count).toBe(9);
    expect(plan.affine.kind).toBe('cells');
    if (plan.affine.kind === 'cells') {
      expect(plan.affine.blocks).toEqual({ A: 2, B: 9, C: 4, D: 1 });
      expect(Array.from(plan.affine.cellParam as Int32Array)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    }
    checkPlanAgainstDefinition(plan);
  });

  it('group norm style: groups (n, g) and parameters (g, c) make cells (n, g, c) mapping to both', () => {
    const plan = planNormalization([2, 3, 2, 5], [0, 1], [1, 2]);
    expect(plan.groups).toBe(6);
    expect(plan.count).toBe(10);
    expect(plan.params).toBe(6);
    expect(plan.affine.kind).toBe('cells');
    if (plan.affine.kind === 'cells') {
      expect(plan.affine.cells).toBe(12);
      expect(Array.from(plan.affine.cellGroup)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
      expect(Array.from(plan.affine.cellParam as Int32Array)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    }
    checkPlanAgainstDefinition(plan);
  });

  it('layer norm with an affine: the rows layout; leadingRows only for groups leading and parameters trailing', () => {
    const lead = planNormalization([4, 3, 5], [0], [1, 2]);
    expect(lead.affine).toEqual({ kind: 'rows', leadingRows: true, rows: 4, features: 15 });
    checkPlanAgainstDefinition(lead);
    const twoLeading = planNormalization([2, 3, 5], [0, 1], [2]);
    expect(twoLeading.affine).toEqual({ kind: 'rows', leadingRows: true, rows: 6, features: 5 });
    // a whole input that is one row
    expect(planNormalization([3, 5], [], [0, 1]).affine).toEqual({ kind: 'rows', leadingRows: true, rows: 1, features: 15 });
    const inner = planNormalization([4, 3, 5], [1], [0, 2]);
    expect(inner.affine).toEqual({ kind: 'rows', leadingRows: false, rows: 3, features: 20 });
    checkPlanAgainstDefinition(inner);
  });

  it('without parameters, or with one value per group, the cells layout', () => {
    const noParams = planNormalization([4, 3, 5], [0], null);
    expect(noParams.params).toBe(0);
    expect(noParams.paramIndex).toBeNull();
    expect(noParams.affine.kind).toBe('cells');
    checkPlanAgainstDefinition(noParams);
    // layer norm over a trailing axis of size 1: every group has one value
    const single = planNormalization([4, 1], [0], [1]);
    expect(single.count).toBe(1);
    expect(single.affine.kind).toBe('cells');
    checkPlanAgainstDefinition(single);
  });

  it('copies its inputs and refuses axes that are not ascending axes of the shape', () => {
    const shape = [2, 3];
    const groupAxes = [1];
    const plan = planNormalization(shape, groupAxes, null);
    shape[1] = 7;
    groupAxes[0] = 0;
    expect(plan.shape).toEqual([2, 3]);
    expect(plan.groupAxes).toEqual([1]);
    for (const [g, p] of [
      [[2], null],
      [[-1], null],
      [[1, 0], null],
      [[1, 1], null],
      [[0.5], null],
      [[0], [3]],
      [[0], [1, 0]],
    ] as [number[], number[] | null][]) {
      expect(() => planNormalization([2, 3], g, p)).toThrow(/planNormalization: (groupAxes|paramAxes) \[.*\] are not ascending axes of a rank-2 shape/);
    }
  });
});

describe('planCache', () => {
  it('builds a plan once per shape and drops the oldest beyond its capacity', () => {
    const built: string[] = [];
    const plans = planCache((shape) => {
      built.push(shape.join('x'));
      return planNormalization(shape, [0], null);
    }, 2);
    const a = plans([2, 3]);
    expect(plans([2, 3])).toBe(a);
    plans([4, 3]);
    plans([2, 3]);
    expect(built).toEqual(['2x3', '4x3']);
    plans([5, 3]); // evicts 2x3, the oldest entry
    expect(plans([4, 3]).shape).toEqual([4, 3]);
    expect(plans([2, 3])).not.toBe(a);
    expect(built).toEqual(['2x3', '4x3', '5x3', '2x3']);
  });
});
