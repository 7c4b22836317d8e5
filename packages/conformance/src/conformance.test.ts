import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NormkitError, defineNormalizer, toContiguous, zeros } from '@normkit/core';
import type { NormalizerTypes } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { compareArray, toleranceFor } from './compare.js';
import { loadCase, loadCases } from './load.js';
import { pluginFor, runCase, skippedCase } from './run.js';
import { makeWeightNorm } from '../test/fixtures/weight-norm.js';
import { makeEngineLayerNorm } from '../test/fixtures/layer-norm.js';

interface FakeTypes extends NormalizerTypes {
  InputOptions: Record<string, unknown>;
  Options: Record<string, unknown>;
  Params: 'weight' | 'bias';
  State: never;
  Saved: { shape: number[] };
}

/** Returns its input unchanged: wrong for every normalizer, so every value comparison must fail. */
const passThrough = defineNormalizer<FakeTypes>({
  meta: { name: 'pass-through', version: '0', description: 'y = x', formula: 'y = x' },
  modes: ['train'],
  exampleOptions: [{}],
  pytorch: { layer: 'layer_norm', stateDict: {}, options: (caseOptions) => ({ ...caseOptions }) },
  resolveOptions: (o) => ({ ...o }),
  bind: () => ({
    paramShapes: () => ({}),
    stateShapes: () => ({}),
    init: () => ({ params: {}, state: {} }),
    exampleShapes: () => [[2, 2]],
    forward: ({ x, state }) => ({ y: toContiguous(x), state, saved: { shape: x.shape.slice() } }),
    backward: ({ dy, saved }) => ({ dx: toContiguous(dy), grads: { weight: zeros([saved.shape[saved.shape.length - 1]], 'float64') } }),
  }),
});

describe('the vendored vectors', () => {
  it('load: 52 cases across six layers, sorted by id', () => {
    const cases = loadCases();
    expect(cases.length).toBe(52);
    const layers = new Map<string, number>();
    for (const c of cases) layers.set(c.layer, (layers.get(c.layer) ?? 0) + 1);
    expect(Object.fromEntries(layers)).toEqual({ batch_norm: 22, group_norm: 7, instance_norm: 4, layer_norm: 9, rms_norm: 4, weight_norm: 6 });
    expect(cases.map((c) => c.id)).toEqual(cases.map((c) => c.id).slice().sort());
  });

  it('reject malformed files and folders with E_STATE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normkit-cases-'));
    try {
      const bad: [string, string][] = [
        ['not-json.json', '{'],
        ['no-layer.json', JSON.stringify({ id: 'a', layer: 'foo_norm', mode: 'train', expectError: false, options: {}, inputs: {}, expected: {} })],
        ['short-data.json', JSON.stringify({ id: 'b', layer: 'batch_norm', mode: 'train', expectError: false, options: {}, inputs: { x: { shape: [2, 2], data: [1, 2, 3] } }, expected: {} })],
      ];
      for (const [name, text] of bad) {
        writeFileSync(join(dir, name), text);
        let caught: unknown;
        try {
          loadCase(join(dir, name));
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(NormkitError);
        expect((caught as NormkitError).code).toBe('E_STATE');
      }
      expect(() => loadCases(join(dir, 'missing'))).toThrow(NormkitError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('compareArray', () => {
  const expected = { shape: [3], data: [1, -2, 1e-14] };
  it('passes within |a − e| ≤ rtol·|e| + atol·max(1, max|e|) and fails beyond', () => {
    const tol = toleranceFor('float64', false)!;
    expect(compareArray([1 + 5e-11, -2, 0], [3], expected, tol).ok).toBe(true);
    const off = compareArray([1 + 1e-9, -2, 0], [3], expected, tol);
    expect(off.ok).toBe(false);
    expect(off.worstIndex).toBe(0);
    expect(Math.abs(off.maxAbsErr - 1e-9)).toBeLessThan(1e-15);
    expect(compareArray([1, -2], [2], expected, tol).ok).toBe(false);
    expect(compareArray([1, NaN, 0], [3], expected, tol).ok).toBe(false);
    // null tolerance: shape and finiteness only
    expect(compareArray([5, 5, 5], [3], expected, null).ok).toBe(true);
  });

  it('uses the README tolerances', () => {
    expect(toleranceFor('float64', false)).toEqual({ rtol: 1e-10, atol: 1e-12 });
    expect(toleranceFor('float64', true)).toEqual({ rtol: 1e-7, atol: 1e-8 });
    expect(toleranceFor('float32', false)).toEqual({ rtol: 1e-4, atol: 1e-5 });
    expect(toleranceFor('float32', true)).toBeNull();
  });
});

describe('runCase', () => {
  it('fails a wrong plugin, naming the array that is off', () => {
    const c = loadCases().find((k) => k.id === 'layernorm-lastdim-2d-001')!;
    const result = runCase(c, passThrough);
    expect(result.status).toBe('fail');
    expect(result.message).toMatch(/^y: flat index/);
    expect(result.message).toContain('dx:');
  });

  it('fails an error case whose call does not throw', () => {
    const c = loadCases().find((k) => k.id === 'layernorm-error-shape-001')!;
    expect(runCase(c, passThrough).message).toBe('expected an error, got none');
  });

  it('marks second-order cases and skips layers without a plugin', () => {
    const c = loadCases().find((k) => k.id === 'layernorm-secondorder-3d-001')!;
    expect(runCase(c, passThrough).secondOrder).toBe('skipped');
    const g = loadCases().find((k) => k.layer === 'group_norm')!;
    expect(skippedCase(g)).toMatchObject({ status: 'skipped', message: 'no plugin implements group_norm' });
  });

  it('compares the second-order arrays through doubleBackward, and names the one that is off', () => {
    const c = loadCases().find((k) => k.id === 'layernorm-secondorder-3d-001')!;
    const good = runCase(c, makeEngineLayerNorm());
    expect(good).toMatchObject({ status: 'pass', secondOrder: 'checked', message: '' });
    for (const fault of ['dsdx', 'dsddy', 'dsdweight'] as const) {
      const result = runCase(c, makeEngineLayerNorm(fault));
      expect(result.status).toBe('fail');
      expect(result.secondOrder).toBe('checked');
      expect(result.message).toMatch(new RegExp(`^${fault}: flat index \\d+`));
    }
    // without the member: the first-order arrays are still compared, the second-order ones skipped
    expect(runCase(c, makeEngineLayerNorm(undefined, false))).toMatchObject({ status: 'pass', secondOrder: 'skipped' });
    // first-order cases carry no secondOrder field
    expect(runCase(loadCases().find((k) => k.id === 'layernorm-lastdim-2d-001')!, makeEngineLayerNorm()).secondOrder).toBeUndefined();
  });

  it('fails, without throwing, a plugin that does not declare the case\'s layer', () => {
    const c = loadCases().find((k) => k.layer === 'weight_norm')!;
    const result = runCase(c, passThrough);
    expect(result).toMatchObject({ status: 'fail', maxAbsErr: Infinity });
    expect(result.message).toBe('crashed: plugin pass-through does not declare the PyTorch layer weight_norm (its pytorch.layer)');
  });
});

describe('plugins declare their PyTorch names', () => {
  const weightNorm = makeWeightNorm();
  const weightNormCases = loadCases().filter((k) => k.layer === 'weight_norm');

  it('pluginFor finds the plugin whose pytorch.layer is the case layer', () => {
    const plugins = [passThrough, weightNorm];
    const found = loadCases().map((c) => `${c.layer}:${pluginFor(c, plugins)?.meta.name ?? '-'}`);
    expect(new Set(found)).toEqual(
      new Set(['batch_norm:-', 'group_norm:-', 'instance_norm:-', 'rms_norm:-', 'layer_norm:pass-through', 'weight_norm:test-weight-norm']),
    );
    expect(pluginFor(weightNormCases[0], [])).toBeUndefined();
  });

  // The six weight-norm cases (linear and conv weights, dim 0, 1 and null) compare w, dv and dg
  // at the float64 tolerance rtol 1e-10, atol 1e-12.
  it('runs the vectors under the names a plugin declares (v, w, dw, dv; dg for g) and passes a correct plugin', () => {
    expect(weightNormCases.map((c) => c.id)).toHaveLength(6);
    for (const c of weightNormCases) {
      const result = runCase(c, weightNorm);
      expect(result, c.id).toMatchObject({ status: 'pass', message: '' });
      expect(result.maxRelErr, c.id).toBeLessThan(1e-10);
      expect(result.maxAbsErr, c.id).toBeGreaterThan(0); // values were compared
    }
  });

  it('fails a wrong dv, naming it, and only it', () => {
    for (const c of weightNormCases) {
      const result = runCase(c, makeWeightNorm({ bug: 'missing-projection' }));
      expect(result.status, c.id).toBe('fail');
      expect(result.message, c.id).toMatch(/^dv: flat index/);
      expect(result.message, c.id).not.toMatch(/(^|; )(w|dg):/);
    }
  });

  it('looks for x, y, dy, dx when a plugin declares no vector names', () => {
    const result = runCase(weightNormCases[0], makeWeightNorm({ declareVectors: false }));
    expect(result.status).toBe('fail');
    expect(result.message).toBe(
      'crashed: the case has no input "x" (or "xs"), the name plugin test-weight-norm gives x in its pytorch.vectors (default x, y, dy, dx)',
    );
  });
});
