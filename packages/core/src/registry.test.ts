import { describe, expect, it } from 'vitest';
import { meanCenter } from '../test/fixtures/mean-center.js';
import { createRegistry } from './registry.js';
import { assertNormalizer } from './plugin.js';
import { ERROR_CODES, NormkitError, isNormkitError } from './errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof NormkitError ? e.code : 'other';
  }
  return undefined;
}

describe('registry', () => {
  it('registers, gets, lists and refuses duplicates and unknown names', () => {
    const registry = createRegistry();
    expect(registry.list()).toEqual([]);
    registry.register(meanCenter);
    expect(registry.has('mean-center')).toBe(true);
    expect(registry.get('mean-center')).toBe(meanCenter);
    expect(registry.list()).toEqual(['mean-center']);
    expect(codeOf(() => registry.register(meanCenter))).toBe('E_REGISTRY');
    expect(codeOf(() => registry.get('batch-norm'))).toBe('E_REGISTRY');
    try {
      registry.get('nope');
    } catch (e) {
      expect((e as Error).message).toContain('registered: mean-center');
    }
  });

  it('accepts only objects that implement the contract (E_PLUGIN)', () => {
    expect(assertNormalizer(meanCenter)).toBe(meanCenter);
    expect(codeOf(() => assertNormalizer({}))).toBe('E_PLUGIN');
    expect(codeOf(() => assertNormalizer({ ...meanCenter, create: 1 }))).toBe('E_PLUGIN');
    expect(codeOf(() => assertNormalizer({ ...meanCenter, resolveOptions: undefined }))).toBe('E_PLUGIN');
    expect(codeOf(() => assertNormalizer({ ...meanCenter, modes: ['test'] }))).toBe('E_PLUGIN');
    expect(codeOf(() => assertNormalizer({ ...meanCenter, exampleOptions: [] }))).toBe('E_PLUGIN');
    expect(codeOf(() => assertNormalizer({ ...meanCenter, meta: { ...meanCenter.meta, formula: 1 } }))).toBe('E_PLUGIN');
    expect(codeOf(() => createRegistry([{ meta: { name: 'x' } } as never]))).toBe('E_PLUGIN');
  });

  it('tells a definition (bind, no create) from a plugin: wrap it with defineNormalizer', () => {
    const { create: _create, ...definition } = meanCenter;
    let caught: unknown;
    try {
      assertNormalizer({ ...definition, bind: () => ({}) }, 'mine');
    } catch (e) {
      caught = e;
    }
    expect(isNormkitError(caught, 'E_PLUGIN')).toBe(true);
    expect((caught as Error).message).toBe('mine.create: expected a function, got undefined (a definition: wrap it with defineNormalizer)');
  });

  it('create resolves the options once and binds them: the bound normalizer carries plugin, meta, modes, options', () => {
    const bound = meanCenter.create({ numFeatures: 2 });
    expect(bound.plugin).toBe(meanCenter);
    expect(bound.meta).toBe(meanCenter.meta);
    expect(bound.modes).toBe(meanCenter.modes);
    expect(bound.options).toEqual({ numFeatures: 2, momentum: 0.1 });
    expect(bound.paramShapes()).toEqual({ bias: [2] });
    expect(bound.stateShapes()).toEqual({ runningMean: [2] });
    expect(codeOf(() => meanCenter.create({ numFeatures: 0 }))).toBe('E_OPTION');
    // two bound normalizers of one plugin do not share options
    expect(meanCenter.create({ numFeatures: 5 }).paramShapes()).toEqual({ bias: [5] });
    expect(bound.paramShapes()).toEqual({ bias: [2] });
  });
});

describe('errors', () => {
  it('carry a stable code, the argument and a message', () => {
    const e = new NormkitError('E_SHAPE', 'x: expected rank 2, got rank 3', 'x');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NormkitError');
    expect(e.code).toBe('E_SHAPE');
    expect(e.argument).toBe('x');
    expect(isNormkitError(e, 'E_SHAPE')).toBe(true);
    expect(isNormkitError(e, 'E_DTYPE')).toBe(false);
    expect(isNormkitError(new Error('x'))).toBe(false);
    expect(ERROR_CODES).toEqual(['E_SHAPE', 'E_DTYPE', 'E_OPTION', 'E_DEGENERATE', 'E_NONFINITE', 'E_STATE', 'E_REGISTRY', 'E_PLUGIN', 'E_FORMAT']);
  });
});
