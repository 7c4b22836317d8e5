import { describe, expect, it } from 'vitest';
import { fromArray, isNormkitError } from '@normkit/core';
import { loadCases, runCase } from '@normkit/conformance';
import type { GoldenArray } from '@normkit/conformance';
import { layerNorm } from './index.js';

// Tolerances are the vectors' README ones, applied by runCase:
// float64 rtol 1e-10 / atol 1e-12 (numerically hard: 1e-7 / 1e-8);
// float32 rtol 1e-4 / atol 1e-5 (hard cases: shape and finiteness only).
const cases = loadCases().filter((c) => c.layer === 'layer_norm');

describe('golden vectors (PyTorch 1.13.1, float64)', () => {
  it('has the layer_norm cases the README lists', () => {
    expect(cases.length).toBe(9);
    expect(cases.filter((c) => c.numericallyHard === true).map((c) => c.id)).toEqual(['layernorm-lastdim-hard-2d-001']);
    expect(cases.filter((c) => c.expectError).map((c) => c.id)).toEqual(['layernorm-error-shape-001']);
  });

  for (const c of cases) {
    it(`${c.id} passes in float64`, () => {
      const result = runCase(c, layerNorm, { dtype: 'float64' });
      expect(result.message).toBe(c.expectError ? 'raised E_SHAPE' : '');
      expect(result.status).toBe('pass');
      // the second-order case: dsdx, dsdweight, dsdbias and dsddy compared through doubleBackward
      if (c.secondOrder !== undefined) expect(result.secondOrder).toBe('checked');
    });
  }

  for (const c of cases.filter((c) => c.numericallyHard !== true)) {
    it(`${c.id} passes in float32`, () => {
      const result = runCase(c, layerNorm, { dtype: 'float32' });
      expect(result.status, result.message).toBe('pass');
      if (c.secondOrder !== undefined) expect(result.secondOrder).toBe('checked');
    });
  }

  it('the hard case runs in float32 with finite values of the right shape', () => {
    const hard = cases.find((c) => c.numericallyHard === true)!;
    expect(runCase(hard, layerNorm, { dtype: 'float32' }).status).toBe('pass');
  });

  it('the shape-mismatch case raises E_SHAPE naming both shapes', () => {
    const c = cases.find((c) => c.id === 'layernorm-error-shape-001')!;
    const ln = layerNorm.create(c.options as { normalizedShape: number[] });
    const load = (a: GoldenArray) => fromArray(a.data, a.shape, 'float64');
    const params = { weight: load(c.inputs.weight as GoldenArray), bias: load(c.inputs.bias as GoldenArray) };
    let caught: unknown;
    try {
      ln.forward({ x: load(c.inputs.x as GoldenArray), params, state: {}, mode: 'train' });
    } catch (e) {
      caught = e;
    }
    expect(isNormkitError(caught, 'E_SHAPE')).toBe(true);
    expect((caught as Error).message).toContain('[4]');
    expect((caught as Error).message).toContain('[2, 6, 3]');
  });

  it('saved center and invStd match saveMean and 1/√(saveVar + eps) at 1e-10 relative (float64)', () => {
    for (const c of cases.filter((c) => !c.expectError)) {
      const ln = layerNorm.create(c.options as { normalizedShape: number[] });
      const options = ln.options;
      const load = (a: GoldenArray) => fromArray(a.data, a.shape, 'float64');
      const params: { weight?: ReturnType<typeof load>; bias?: ReturnType<typeof load> } = {};
      if (c.inputs.weight !== undefined) params.weight = load(c.inputs.weight as GoldenArray);
      if (c.inputs.bias !== undefined) params.bias = load(c.inputs.bias as GoldenArray);
      const { saved } = ln.forward({ x: load(c.inputs.x as GoldenArray), params, state: {}, mode: c.mode });
      const saveMean = c.expected!.saveMean as GoldenArray;
      const saveVar = c.expected!.saveVar as GoldenArray;
      // one value per row, row-major over the leading shape (PyTorch's saveMean has that shape)
      expect(saved.center.length).toBe(saveMean.shape.reduce((a, b) => a * b, 1));
      expect(saved.invStd.length).toBe(saveVar.shape.reduce((a, b) => a * b, 1));
      expect(saved.batchStats).toBe(true);
      saveMean.data.forEach((m, i) => expect(Math.abs(saved.center[i] - m)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(m))));
      saveVar.data.forEach((v, i) => {
        const invStd = 1 / Math.sqrt(v + options.eps);
        expect(Math.abs(saved.invStd[i] - invStd) / invStd).toBeLessThanOrEqual(1e-10);
      });
    }
  });
});
