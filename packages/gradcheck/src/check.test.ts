import { describe, expect, it } from 'vitest';
import { NormkitError, defineNormalizer, fromArray, toTypedArray } from '@normkit/core';
import type { Normalizer, NormalizerTypes, Tensor } from '@normkit/core';
import { checkGradients } from './check.js';
import type { GradcheckReport } from './report.js';
import { batchNorm, makeBatchNorm } from '../test/fixtures/batch-norm.js';
import { layerNorm, makeLayerNorm } from '../test/fixtures/layer-norm.js';
import type { LayerNormTypes as TypesOfLayerNorm } from '../test/fixtures/layer-norm.js';
import { makeWeightNorm, weightNorm } from '../test/fixtures/weight-norm.js';
import { GRADIENT_BUGS } from '../test/fixtures/bugs.js';
import type { Bug } from '../test/fixtures/bugs.js';
import { output } from '../test/fixtures/output.js';

function failingTensors(report: GradcheckReport): string[] {
  return [...new Set(report.checks.filter((c) => !c.ok).map((c) => c.tensor))].sort();
}

function failingContracts(report: GradcheckReport): string[] {
  return [...new Set(report.contracts.filter((c) => !c.ok).map((c) => c.name))].sort();
}

// Every typed plugin is a Normalizer (of the default type bag): what a CLI looping over a registry holds.
const correctPlugins: [string, Normalizer][] = [
  ['batch norm', batchNorm],
  ['layer norm', layerNorm],
  ['weight norm', weightNorm],
];
const brokenFactories: [string, (bug: Bug) => Normalizer][] = [
  ['batch norm', makeBatchNorm],
  ['layer norm', makeLayerNorm],
];

describe('correct plugins pass', () => {
  it.each(correctPlugins)('%s passes every check at seed 0, in every mode and example shape', (_name, plugin) => {
    const report = checkGradients(plugin);
    expect(report.ok).toBe(true);
    // The layer- and weight-norm fixtures declare modeIndependent: their listed mode only.
    const modes = new Set(report.checks.map((c) => c.mode));
    expect([...modes].sort()).toEqual([...plugin.modes].sort());
    const base = report.checks.filter((c) => c.variant === 'base');
    expect(base.every((c) => c.method === 'full-jacobian' && c.compared > 0)).toBe(true);
    expect(report.checks.filter((c) => c.variant === 'dtype:float32').every((c) => c.method === 'float32' && c.compared > 0)).toBe(true);
  });

  it.each(correctPlugins)('%s has no false alarm over 200 seeds', (_name, plugin) => {
    const failures: string[] = [];
    for (let seed = 0; seed < 200; seed++) {
      const report = checkGradients(plugin, { seed });
      if (!report.ok) failures.push(`seed ${seed}: ${[...failingTensors(report), ...failingContracts(report)].join(', ')}`);
    }
    expect(failures).toEqual([]);
  }, 120_000); // a guard against hangs, not a speed assertion: 200 full checks take ~10 s on a loaded 2-core machine

  it('checks every parameter and x, with the plugin name, options, mode and shape on each check', () => {
    const report = checkGradients(batchNorm, { shapes: [[4, 3]] });
    const base = report.checks.filter((c) => c.variant === 'base');
    expect(base.map((c) => `${c.mode}:${c.tensor}`)).toEqual(['train:x', 'train:weight', 'train:bias', 'eval:x', 'eval:weight', 'eval:bias']);
    const check = report.checks[0];
    expect(check).toMatchObject({ plugin: 'test-batch-norm', optionsIndex: 0, options: '{"numFeatures":3}', mode: 'train', shape: [4, 3], tensor: 'x', size: 'example', modeListed: true, variant: 'base' });
    expect(check.id).toBe('test-batch-norm:train:o0:4x3:x');
    // Jacobian 12×12 plus the 12 gradient elements.
    expect(check.compared).toBe(12 * 12 + 12);
  });

  it('declares and checks the plugin invariants', () => {
    const report = checkGradients(batchNorm, { shapes: [[4, 3]] });
    const invariants = report.contracts.filter((c) => c.name === 'invariant');
    expect(invariants.map((c) => c.mode)).toEqual(['train']);
    expect(invariants[0].id).toBe('test-batch-norm:train:o0:4x3:invariant:zero-sum');
    const wn = checkGradients(weightNorm);
    expect(wn.contracts.filter((c) => c.name === 'invariant' && c.ok && c.message.startsWith('orthogonal-to-input'))).toHaveLength(2);
  });

  it('runs every contract check in each case', () => {
    const report = checkGradients(layerNorm, { shapes: [[3, 4]] });
    expect(report.contracts.map((c) => (c.variant === 'base' ? c.name : `${c.name} (${c.variant})`))).toEqual([
      'forward-determinism',
      'backward-determinism',
      'backward-purity',
      'zero-dy',
      'linearity',
      'shapes-dtypes',
      'invariant',
      'layout (layout:offset)',
      'layout (layout:permuted)',
      'layout (layout:negative-stride)',
      'layout (layout:out)',
      'forward-purity',
      'mode-identity (mode:identity)',
    ]);
    expect(report.checks.filter((c) => c.variant === 'dtype:float32').map((c) => c.tensor)).toEqual(['y', 'dx', 'grads.weight', 'grads.bias']);
  });

  it('uses random projections and a subset of elements above fullJacobianMaxSize', () => {
    const report = checkGradients(batchNorm, { shapes: [[8, 3, 4]], fullJacobianMaxSize: 16, projections: 4, subsetSize: 10 });
    expect(report.ok).toBe(true);
    const x = report.checks.find((c) => c.tensor === 'x' && c.mode === 'train')!;
    expect(x.method).toBe('projection');
    expect(x.compared).toBe(10 + 4);
    const weight = report.checks.find((c) => c.tensor === 'weight' && c.mode === 'train')!;
    expect(weight.compared).toBe(3 + 4);
  });

  it('passes with Richardson extrapolation, and is deterministic for a seed', () => {
    const a = checkGradients(layerNorm, { richardson: true, seed: 7 });
    const b = checkGradients(layerNorm, { richardson: true, seed: 7 });
    expect(a.ok).toBe(true);
    expect(a.settings.richardson).toBe(true);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('accepts one option set, a list, a shape function and a subset of modes', () => {
    const one = checkGradients(batchNorm, { options: { numFeatures: 2 }, shapes: (o) => [[3, o.numFeatures]], modes: ['eval'] });
    expect(one.ok).toBe(true);
    expect(one.checks.filter((c) => c.variant === 'base').map((c) => `${c.mode} ${c.shape.join('x')}`)).toEqual(['eval 3x2', 'eval 3x2', 'eval 3x2']);
    const many = checkGradients(batchNorm, { options: [{ numFeatures: 2 }, { numFeatures: 1, eps: 1e-3 }], shapes: (o) => [[3, o.numFeatures, 2]] });
    expect(many.ok).toBe(true);
    expect(new Set(many.checks.map((c) => c.optionsIndex))).toEqual(new Set([0, 1]));
  });
});

describe('broken plugins are caught', () => {
  describe.each(brokenFactories)('%s', (_name, make) => {
    it.each(GRADIENT_BUGS)('catches "$bug" in exactly the gradients it breaks', ({ bug, breaks }) => {
      const report = checkGradients(make(bug));
      expect(report.ok).toBe(false);
      expect(failingTensors(report)).toEqual([...breaks].sort());
      for (const c of report.checks.filter((c) => !c.ok)) {
        expect(c.status).toBe('fail');
        expect(c.worst.length).toBeGreaterThan(0);
        expect(c.maxRelErr).toBeGreaterThan(1e-3);
      }
    });

    it.each(GRADIENT_BUGS)('catches "$bug" with projections only (fullJacobianMaxSize 0)', ({ bug, breaks }) => {
      const report = checkGradients(make(bug), { fullJacobianMaxSize: 0 });
      expect(report.checks.filter((c) => c.variant === 'base').every((c) => c.method === 'projection')).toBe(true);
      expect(failingTensors(report)).toEqual([...breaks].sort());
    });

    it.each(GRADIENT_BUGS)('catches "$bug" at every one of 20 seeds', ({ bug }) => {
      for (let seed = 0; seed < 20; seed++) expect(checkGradients(make(bug), { seed }).ok).toBe(false);
    });

    it('catches a forward that mutates its params (forward-purity)', () => {
      const report = checkGradients(make('mutates-params'));
      expect(report.ok).toBe(false);
      const purity = report.contracts.filter((c) => c.name === 'forward-purity' && !c.ok);
      expect(purity.length).toBeGreaterThan(0);
      expect(purity[0].message).toContain('params.weight');
    });

    it('catches dx of the wrong shape (shapes-dtypes) while the values are right', () => {
      const report = checkGradients(make('wrong-dx-shape'));
      expect(report.ok).toBe(false);
      expect(failingTensors(report)).toEqual([]);
      // The flat dx is a new tensor: the out check also sees backward ignore out.
      expect(failingContracts(report)).toEqual(['layout', 'shapes-dtypes']);
      expect(report.contracts.find((c) => c.name === 'shapes-dtypes' && !c.ok)!.message).toMatch(/dx has shape \[\d+\], expected/);
      expect([...new Set(report.contracts.filter((c) => c.name === 'layout' && !c.ok).map((c) => c.variant))]).toEqual(['layout:out']);
    });

    it('flags the mean term and only it through the zero-sum invariant', () => {
      expect(failingContracts(checkGradients(make('missing-mean-term')))).toEqual(['invariant']);
      expect(failingContracts(checkGradients(make('missing-variance-term')))).toEqual([]);
    });
  });

  it('catches a nondeterministic backward (backward-determinism)', () => {
    const report = checkGradients(makeBatchNorm('nondeterministic-backward'));
    expect(report.ok).toBe(false);
    expect(failingTensors(report)).toEqual([]);
    expect(failingContracts(report)).toEqual(['backward-determinism']);
  });

  it('catches weight norm without the projection term, through its invariant', () => {
    const report = checkGradients(makeWeightNorm(true));
    expect(report.ok).toBe(false);
    expect(failingTensors(report)).toEqual(['x']);
    const invariant = report.contracts.filter((c) => c.name === 'invariant');
    expect(invariant.every((c) => !c.ok)).toBe(true);
    expect(invariant[0].message).toContain('orthogonal-to-input');
  });
});

interface ScaleTypes extends NormalizerTypes {
  InputOptions: { broken?: 'zero-dy' | 'abs' | 'float32-dx' | 'throws-eval' | 'mutates-dy' };
  Options: { broken?: 'zero-dy' | 'abs' | 'float32-dx' | 'throws-eval' | 'mutates-dy' };
  Params: 'scale';
  State: never;
  Saved: { x: Tensor };
}

/** y = s·x elementwise with a scalar-per-feature s: small enough to break one contract at a time. */
const scale = defineNormalizer<ScaleTypes>({
  meta: { name: 'scale', version: '0.0.0', description: 'y = s x', formula: 'y = s x' },
  modes: ['train', 'eval'],
  exampleOptions: [{}],
  resolveOptions: (input) => ({ ...input }),
  bind: (o) => ({
    paramShapes: () => ({ scale: [2] }),
    stateShapes: () => ({}),
    init: (dtype = 'float32') => ({ params: { scale: fromArray([1, 1], [2], dtype) }, state: {} }),
    exampleShapes: () => [[3, 2]],
    forward({ x, params, state, mode, out }) {
      if (o.broken === 'throws-eval' && mode === 'eval') throw new NormkitError('E_STATE', 'eval: no running statistics');
      const s = toTypedArray(params.scale!);
      const v = toTypedArray(x);
      return { y: output(v.map((xi, i) => s[i % 2] * xi), x.shape, v instanceof Float32Array ? 'float32' : 'float64', out), state, saved: { x } };
    },
    backward({ dy, params, saved, out }) {
      const s = toTypedArray(params.scale!);
      const g = toTypedArray(dy);
      const v = toTypedArray(saved.x);
      const dtype = o.broken === 'float32-dx' || g instanceof Float32Array ? 'float32' : 'float64';
      const grad = (i: number): number => (o.broken === 'abs' ? Math.abs(g[i]) : g[i]);
      const dx = output(v.map((_, i) => s[i % 2] * grad(i) + (o.broken === 'zero-dy' ? 1e-3 : 0)), saved.x.shape, dtype, out);
      const ds = [0, 0];
      for (let i = 0; i < v.length; i++) ds[i % 2] += grad(i) * v[i];
      if (o.broken === 'mutates-dy') dy.data.fill(0);
      return { dx, grads: { scale: fromArray(ds, [2], g instanceof Float32Array ? 'float32' : 'float64') } };
    },
  }),
});

describe('mode identity at every example shape', () => {
  it('catches a modeIndependent claim that is false only at a shape other than the last (variantShapes one, the default)', () => {
    const base = makeLayerNorm();
    const evalDiffersAtRank2 = defineNormalizer<TypesOfLayerNorm>({
      ...base,
      meta: { ...base.meta, name: 'test-layer-norm-eval-rank-2' },
      bind(o) {
        const bound = base.create(o);
        return {
          ...bound,
          forward(args) {
            const result = bound.forward(args);
            if (args.mode !== 'eval' || args.x.shape.length !== 2) return result;
            const shifted = toTypedArray(result.y).map((v) => v + 1e-3);
            return { ...result, y: fromArray(shifted, result.y.shape.slice(), 'float64') };
          },
        };
      },
    });
    const report = checkGradients(evalDiffersAtRank2);
    const failed = report.contracts.filter((c) => !c.ok);
    expect(failed.map((c) => [c.name, c.shape.join('x')])).toEqual([['mode-identity', '3x4']]);
    expect(checkGradients(layerNorm).contracts.filter((c) => c.name === 'mode-identity').map((c) => c.shape.join('x'))).toEqual(['3x4', '2x2x4']);
  });
});

describe('contract checks', () => {
  it('the tiny linear plugin passes', () => {
    expect(checkGradients(scale).ok).toBe(true);
  });

  it('catches gradients not multiplied by dy (zero-dy)', () => {
    const report = checkGradients(scale, { options: { broken: 'zero-dy' } });
    expect(failingContracts(report)).toContain('zero-dy');
    expect(report.contracts.find((c) => c.name === 'zero-dy')!.message).toContain('dx[0, 0]');
  });

  it('catches a backward that is not linear in dy (linearity)', () => {
    const report = checkGradients(scale, { options: { broken: 'abs' } });
    expect(failingContracts(report)).toContain('linearity');
    expect(failingContracts(report)).not.toContain('zero-dy');
  });

  it('catches a gradient of the wrong dtype (shapes-dtypes)', () => {
    const report = checkGradients(scale, { options: { broken: 'float32-dx' } });
    expect(failingContracts(report)).toContain('shapes-dtypes');
    expect(report.contracts.find((c) => c.name === 'shapes-dtypes')!.message).toContain('float64: dx is float32, expected float64');
  });

  it('catches a backward that mutates dy (backward-purity)', () => {
    const report = checkGradients(scale, { options: { broken: 'mutates-dy' } });
    // backward-purity names the element; the layout runs, watched for writes too, say it again.
    expect(failingContracts(report)).toEqual(['backward-purity', 'layout']);
    expect(report.contracts.find((c) => c.name === 'backward-purity')!.message).toMatch(/^backward mutated its arguments: dy\[/);
    expect(report.contracts.find((c) => c.name === 'layout' && !c.ok)!.message).toContain('backward wrote to its arguments (dy)');
  });

  it('reports a forward that throws as an error, without throwing', () => {
    const report = checkGradients(scale, { options: { broken: 'throws-eval' } });
    expect(report.ok).toBe(false);
    const errors = report.checks.filter((c) => c.status === 'error');
    expect(errors.map((c) => `${c.mode}:${c.tensor}`)).toEqual(['eval:x', 'eval:scale']);
    expect(errors[0].message).toContain('no running statistics');
    expect(Number.isNaN(errors[0].maxAbsErr)).toBe(true);
    expect(report.checks.filter((c) => c.mode === 'train').every((c) => c.ok)).toBe(true);
    expect(report.contracts.find((c) => c.name === 'setup')!.status).toBe('error');
  });

  it('reports input shapes a plugin rejects as errors', () => {
    const report = checkGradients(batchNorm, { shapes: [[4, 2]] });
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => `${c.mode}:${c.tensor}:${c.status}`)).toEqual([
      'train:x:error',
      'train:weight:error',
      'train:bias:error',
      'eval:x:error',
      'eval:weight:error',
      'eval:bias:error',
    ]);
    expect(report.checks[0].message).toContain('expected 3 channels');
  });

  it('reports options a plugin rejects as errors', () => {
    const report = checkGradients(batchNorm, { options: { numFeatures: -1 } });
    expect(report.ok).toBe(false);
    expect(report.checks.every((c) => c.status === 'error' && c.message.includes('numFeatures'))).toBe(true);
  });

  it('rejects a bad config and a non-plugin', () => {
    expect(() => checkGradients(batchNorm, { seed: -1 })).toThrow(/config.seed/);
    expect(() => checkGradients(batchNorm, { rtol: Number.NaN })).toThrow(/config.rtol/);
    expect(() => checkGradients(batchNorm, { modes: ['test' as never] })).toThrow(/config.modes/);
    expect(() => checkGradients({} as never)).toThrow(NormkitError);
  });
});
