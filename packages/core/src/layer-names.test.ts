import { describe, expect, it } from 'vitest';
import { thrown } from '../test/thrown.js';
import type { MeanCenterTypes } from '../test/fixtures/mean-center.js';
import { meanCenter } from '../test/fixtures/mean-center.js';
import { Layer } from './layer.js';
import type { Normalizer, PyTorchNames } from './normalizer.js';
import { fromArray } from './tensor.js';
import type { Tensor } from './tensor.js';

// The mean-center fixture (bias, runningMean) given PyTorch-style names three ways.
const plainNames: PyTorchNames<MeanCenterTypes> = {
  layer: 'mean_center',
  stateDict: { bias: 'bias', runningMean: 'running_mean' },
  int64: ['runningMean'],
  options: () => ({ numFeatures: 2 }),
};
const named: Normalizer<MeanCenterTypes> = { ...meanCenter, pytorch: plainNames };
const styled: Normalizer<MeanCenterTypes> = {
  ...meanCenter,
  pytorch: {
    ...plainNames,
    stateDict: { bias: 'bias', runningMean: 'stats.original0' },
    stateDictStyles: { modern: { bias: 'bias', runningMean: 'stats.original0' }, legacy: { bias: 'bias', runningMean: 'stats_g' } },
    stateDictShapes: { runningMean: (shape) => [...shape, 1] },
  },
};

const f64 = (values: number[], shape = [values.length]) => fromArray(values, shape, 'float64');
const values = (t: Tensor | undefined) => Array.from((t as Tensor).data);

function trained(plugin: Normalizer<MeanCenterTypes>): Layer<MeanCenterTypes> {
  const layer = new Layer(plugin, { numFeatures: 2 }, { dtype: 'float64' });
  layer.loadStateDict({ bias: f64([0.5, -1]), runningMean: f64([3, 4]) });
  return layer;
}

describe('Layer state dicts in PyTorch names', () => {
  it('writes the declared PyTorch keys, with a prefix when given (a missing trailing dot is added)', () => {
    const layer = trained(named);
    const sd = layer.stateDict({ names: 'pytorch' });
    expect(Object.keys(sd)).toEqual(['bias', 'running_mean']);
    expect(values(sd.running_mean)).toEqual([3, 4]);
    expect(Object.keys(layer.stateDict({ names: 'pytorch', prefix: 'features.1.' }))).toEqual(['features.1.bias', 'features.1.running_mean']);
    expect(Object.keys(layer.stateDict({ names: 'pytorch', prefix: 'features.1' }))).toEqual(['features.1.bias', 'features.1.running_mean']);
    expect(Object.keys(layer.stateDict({ prefix: 'm.' }))).toEqual(['m.bias', 'm.runningMean']);
    expect(Object.keys(layer.stateDict())).toEqual(['bias', 'runningMean']);
  });

  it('loads one layer out of a whole model by prefix, ignoring the other entries', () => {
    const layer = new Layer(named, { numFeatures: 2 }, { dtype: 'float64' });
    const model = {
      'features.0.bias': f64([9, 9]),
      'features.1.bias': f64([1, 2]),
      'features.1.running_mean': f64([5, 6]),
      'features.10.bias': f64([7, 7]),
      'features.10.running_mean': f64([7, 7]),
      'classifier.weight': f64([1, 2, 3]),
    };
    layer.loadStateDict(model, { names: 'pytorch', prefix: 'features.1.' });
    expect(values(layer.params.bias)).toEqual([1, 2]);
    expect(values(layer.state.runningMean)).toEqual([5, 6]);
    // The loaded tensors are copies.
    model['features.1.bias'].data[0] = 100;
    expect(values(layer.params.bias)).toEqual([1, 2]);
  });

  it('round-trips through its own PyTorch-named dict', () => {
    const layer = trained(named);
    const other = new Layer(named, { numFeatures: 2 }, { dtype: 'float64' });
    other.loadStateDict(layer.stateDict({ names: 'pytorch', prefix: 'a.b.' }), { names: 'pytorch', prefix: 'a.b.' });
    expect(values(other.params.bias)).toEqual([0.5, -1]);
    expect(values(other.state.runningMean)).toEqual([3, 4]);
  });

  it('refuses a PyTorch name under normkit names, and says which options would load it', () => {
    const layer = trained(named);
    const before = layer.stateDict();
    const e = thrown(() => layer.loadStateDict({ bias: f64([0, 0]), running_mean: f64([1, 1]) }));
    expect(e.code).toBe('E_STATE');
    expect(e.argument).toBe('running_mean');
    expect(e.message).toBe(`loadStateDict: unexpected entry "running_mean" (PyTorch name; pass { names: 'pytorch' }); expected only bias, runningMean`);
    expect(layer.stateDict()).toEqual(before);
  });

  it('suggests the prefix when the keys are a whole model’s', () => {
    const layer = trained(named);
    const bad = { 'features.1.bias': f64([0, 0]), 'features.1.running_mean': f64([1, 1]) };
    expect(thrown(() => layer.loadStateDict(bad)).message).toContain(
      `unexpected entry "features.1.bias" (PyTorch name under prefix "features.1."; pass { names: 'pytorch', prefix: 'features.1.' })`,
    );
    expect(thrown(() => layer.loadStateDict({ 'm.bias': f64([0, 0]), 'm.runningMean': f64([1, 1]) })).message).toContain(
      `unexpected entry "m.bias" (normkit name under prefix "m."; pass { prefix: 'm.' })`,
    );
  });

  it('refuses a normkit name under PyTorch names, and says so', () => {
    const layer = trained(named);
    const e = thrown(() => layer.loadStateDict({ bias: f64([0, 0]), runningMean: f64([1, 1]) }, { names: 'pytorch' }));
    expect(e.code).toBe('E_STATE');
    expect(e.message).toBe(`loadStateDict: unexpected entry "runningMean" (normkit name; pass { names: 'normkit' }); expected only bias, running_mean`);
  });

  it('names missing entries and an unknown key with the keys of the naming in use', () => {
    const layer = trained(named);
    const missing = thrown(() => layer.loadStateDict({ 'm.bias': f64([0, 0]) }, { names: 'pytorch', prefix: 'm.' }));
    expect(missing.code).toBe('E_STATE');
    expect(missing.message).toBe('loadStateDict: missing entries m.running_mean');
    expect(layer.loadStateDict({ 'm.bias': f64([7, 8]) }, { names: 'pytorch', prefix: 'm.', strict: false })).toEqual({ missingKeys: ['m.running_mean'], unexpectedKeys: [] });
    expect(values(layer.params.bias)).toEqual([7, 8]);
    const unknown = thrown(() => layer.loadStateDict({ 'm.weight': f64([0, 0]) }, { names: 'pytorch', prefix: 'm.' }));
    expect(unknown.message).toBe('loadStateDict: unexpected entry "m.weight"; expected only m.bias, m.running_mean');
    // strict: false skips unknown keys and lists them, as PyTorch's strict=False (keys outside the prefix are not read at all).
    const result = layer.loadStateDict({ 'm.weight': f64([0, 0]), 'm.bias': f64([1, 2]), 'other.bias': f64([3, 4]) }, { names: 'pytorch', prefix: 'm.', strict: false });
    expect(result).toEqual({ missingKeys: ['m.running_mean'], unexpectedKeys: ['m.weight'] });
    expect(values(layer.params.bias)).toEqual([1, 2]);
    expect(layer.loadStateDict(layer.stateDict({ names: 'pytorch', prefix: 'm.' }), { names: 'pytorch', prefix: 'm.' })).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it('refuses bad naming options with E_OPTION, and PyTorch names for a plugin that declares none', () => {
    const layer = trained(named);
    const cases: [() => unknown, string][] = [
      [() => layer.stateDict({ names: 'torch' as 'pytorch' }), 'options.names'],
      [() => layer.stateDict({ prefix: 3 as unknown as string }), 'options.prefix'],
      [() => layer.stateDict({ style: 'legacy' }), 'options.style'],
      [() => layer.stateDict({ names: 'pytorch', style: 'legacy' }), 'options.style'],
      [() => layer.loadStateDict({}, { strict: 'yes' as unknown as boolean }), 'options.strict'],
      [() => new Layer(meanCenter, { numFeatures: 2 }).stateDict({ names: 'pytorch' }), 'options.names'],
    ];
    for (const [fn, argument] of cases) {
      const e = thrown(fn);
      expect(e.code, argument).toBe('E_OPTION');
      expect(e.argument, argument).toBe(argument);
    }
    expect(thrown(() => layer.stateDict({ names: 'pytorch', style: 'legacy' })).message).toContain(`expected none (mean-center has one PyTorch naming), got "legacy"`);
  });

  it('lists the int64 entries in the naming asked for', () => {
    const layer = trained(named);
    expect(layer.integerEntries()).toEqual(['runningMean']);
    expect(layer.integerEntries({ names: 'pytorch', prefix: 'bn' })).toEqual(['bn.running_mean']);
    expect(new Layer(meanCenter, { numFeatures: 2 }).integerEntries()).toEqual([]);
  });
});

describe('PyTorch naming styles and shapes', () => {
  it('writes the default style, or the one asked for, in PyTorch’s shape', () => {
    const layer = trained(styled);
    const modern = layer.stateDict({ names: 'pytorch' });
    expect(Object.keys(modern)).toEqual(['bias', 'stats.original0']);
    expect(modern['stats.original0'].shape).toEqual([2, 1]);
    expect(values(modern['stats.original0'])).toEqual([3, 4]);
    expect(Object.keys(layer.stateDict({ names: 'pytorch', style: 'legacy' }))).toEqual(['bias', 'stats_g']);
    // normkit names keep normkit's shape.
    expect(layer.stateDict().runningMean.shape).toEqual([2]);
  });

  it('detects the style when loading, and reshapes back to normkit’s shape', () => {
    for (const style of ['modern', 'legacy']) {
      const source = trained(styled);
      const dict = source.stateDict({ names: 'pytorch', style, prefix: 'wn' });
      const layer = new Layer(styled, { numFeatures: 2 }, { dtype: 'float64' });
      layer.loadStateDict(dict, { names: 'pytorch', prefix: 'wn' });
      expect(layer.state.runningMean?.shape, style).toEqual([2]);
      expect(values(layer.state.runningMean), style).toEqual([3, 4]);
    }
  });

  it('refuses entries of two styles at once, a forced style that does not fit, and normkit’s shape under PyTorch names', () => {
    const layer = trained(styled);
    const before = layer.stateDict();
    const both = { bias: f64([0, 0]), 'stats.original0': f64([1, 1], [2, 1]), stats_g: f64([1, 1], [2, 1]) };
    const mixed = thrown(() => layer.loadStateDict(both, { names: 'pytorch' }));
    expect(mixed.code).toBe('E_STATE');
    expect(mixed.message).toContain(`more than one PyTorch naming style of mean-center: 'modern' (bias, stats.original0) and 'legacy' (bias, stats_g)`);
    const forced = thrown(() => layer.loadStateDict({ bias: f64([0, 0]), stats_g: f64([1, 1], [2, 1]) }, { names: 'pytorch', style: 'modern' }));
    expect(forced.message).toContain(`unexpected entry "stats_g" (PyTorch name in style 'legacy'; pass { names: 'pytorch', style: 'legacy' })`);
    const shape = thrown(() => layer.loadStateDict({ bias: f64([0, 0]), stats_g: f64([1, 1]) }, { names: 'pytorch' }));
    expect(shape.message).toBe('loadStateDict: stats_g expected shape [2, 1], got [2]');
    expect(layer.stateDict()).toEqual(before);
  });
});
