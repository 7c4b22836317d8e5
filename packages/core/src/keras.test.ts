import { describe, expect, it } from 'vitest';
import { meanCenter } from '../test/fixtures/mean-center.js';
import type { MeanCenterTypes } from '../test/fixtures/mean-center.js';
import { thrown } from '../test/thrown.js';
import { momentumFromKeras } from './keras-config.js';
import { kerasCommonShape } from './keras-helpers.js';
import { importKeras } from './keras.js';
import type { KerasNames } from './keras.js';
import { defineNormalizer } from './normalizer.js';
import { dtypeOf, fromArray } from './tensor.js';

/** A Keras "MeanCentering" layer for the user-written mean-center plugin: `beta`, then `moving_mean`. */
const meanCenterKeras: KerasNames<MeanCenterTypes> = {
  className: 'MeanCentering',
  weights: () => [
    { keras: 'beta', entry: 'bias' },
    { keras: 'moving_mean', entry: 'runningMean' },
  ],
  options: (context) => ({
    numFeatures: (kerasCommonShape(context) as readonly number[])[0],
    momentum: momentumFromKeras(context.config.number('momentum', 0.99, { min: 0, max: 1 })),
  }),
};
const { create: _create, ...definition } = meanCenter;
void _create;
const plugin = defineNormalizer({ ...definition, bind: (options) => meanCenter.create(options), keras: meanCenterKeras });

describe('importKeras over a user-written plugin', () => {
  it('maps the config, copies the weights (lists, typed arrays, tensors, TF.js tensors) and fills nothing else', () => {
    const bias = fromArray([1, 2, 3], [3], 'float64');
    const tf = { shape: [3], dataSync: () => new Float32Array([0.5, 0.25, 0.125]) };
    const imported = importKeras(plugin, { className: 'MeanCentering', config: { momentum: 0.9, dtype: { class_name: 'DTypePolicy', config: { name: 'float64' } } }, weights: [bias, tf] });
    expect(imported.options).toEqual({ numFeatures: 3, momentum: 0.1 });
    expect(imported.dtype).toBe('float64');
    expect(Object.keys(imported.stateDict).sort()).toEqual(['bias', 'runningMean']);
    expect(Array.from(imported.stateDict.runningMean.data)).toEqual([0.5, 0.25, 0.125]);
    expect(imported.stateDict.bias.data).not.toBe(bias.data);
    bias.data[0] = 99;
    expect(imported.stateDict.bias.data[0]).toBe(1);
    const float32 = importKeras(plugin, { weights: { 'layer/beta:0': new Float64Array([1, 2]), 'layer/moving_mean:0': [3, 4] } });
    expect(dtypeOf(float32.stateDict.bias)).toBe('float32');
    expect(float32.options.momentum).toBe(0.01);
  });

  it('refuses what it cannot read with a NormkitError naming the argument', () => {
    const cases: [() => unknown, string, string][] = [
      [() => importKeras(meanCenter, { weights: [] }), 'E_OPTION', 'mean-center declares no Keras names'],
      [() => importKeras(plugin, null as never), 'E_OPTION', 'keras MeanCentering layer: expected an object { config, weights, className?, inputShape? }, got null'],
      [() => importKeras(plugin, { className: 'Dense', weights: [] }), 'E_OPTION', 'mean-center imports MeanCentering, got "Dense"'],
      [() => importKeras(plugin, { weights: [[1], [2]] }, { dtype: 'int8' as never }), 'E_OPTION', "options.dtype: expected 'float32' or 'float64'"],
      [() => importKeras(plugin, { weights: [[1], [2]] }, { fillMissingAffine: 'yes' as never }), 'E_OPTION', 'options.fillMissingAffine: expected a boolean'],
      [() => importKeras(plugin, { weights: [[1], [2]] }, { overrides: [] as never }), 'E_OPTION', 'options.overrides: expected an object'],
      [() => importKeras(plugin, { weights: [[1], [2]], inputShape: [null, -1] }), 'E_OPTION', 'layer.inputShape: expected a list of sizes or nulls'],
      [() => importKeras(plugin, { weights: 'beta' as never }), 'E_STATE', 'expected the get_weights() list or an object keyed by weight name'],
      [() => importKeras(plugin, { weights: { 'a/beta:0': [1], beta: [1], moving_mean: [0] } }), 'E_STATE', 'beta is given twice'],
      [() => importKeras(plugin, { weights: [{ shape: [2], dataSync: () => [1] }, [0, 0]] }), 'E_STATE', 'weights[0] (beta): expected dataSync() to give 2 numbers for shape [2], got an array of length 1'],
      [() => importKeras(plugin, { weights: [[1, 2], new Int32Array([0, 0]) as never] }), 'E_STATE', 'weights[1] (moving_mean): expected nested number arrays'],
      [() => importKeras(plugin, { weights: [[1, 'a'], [0, 0]] as never }), 'E_STATE', 'keras weights[0] (beta)[1]: expected a number, got "a"'],
      [() => importKeras(plugin, { weights: [[1, 2], [0, Infinity]] }), 'E_NONFINITE', 'weights[1] (moving_mean): expected finite values, got Infinity at [1]'],
      [() => importKeras(plugin, { config: { momentum: 2 }, weights: [[1], [0]] }), 'E_OPTION', 'config.momentum: expected a finite number in [0, 1], got 2'],
      [() => importKeras(plugin, { weights: [[1], [0]] }, { overrides: { numFeatures: 0 } }), 'E_OPTION', 'the config gives normkit options {"numFeatures":0,"momentum":0.01}, which mean-center refuses'],
    ];
    for (const [call, code, message] of cases) {
      const error = thrown(call);
      expect(error.code, error.message).toBe(code);
      expect(error.message).toContain(message);
    }
  });

  it('second-read fixes: undefined overrides override nothing; unknown keys, a bad plugin, two layers\' paths and float32 overflow are refused; keyed weights are named by their key; trainable=false is reported', () => {
    const weights = [[1, 2], [3, 4]];
    expect(importKeras(plugin, { weights }, { overrides: { momentum: undefined } }).options.momentum).toBe(0.01);
    expect(importKeras(plugin, { weights }).frozen).toBe(false);
    expect(importKeras(plugin, { config: { trainable: false }, weights }).frozen).toBe(true);
    const cases: [() => unknown, string, string][] = [
      [() => importKeras(null as never, { weights }), 'E_OPTION', 'importKeras plugin: expected a normkit plugin'],
      [() => importKeras(plugin, { weights }, { dtpye: 'float64' } as never), 'E_OPTION', 'keras import options: unknown key "dtpye"'],
      [() => importKeras(plugin, { weights, input_shape: [null, 2] } as never), 'E_OPTION', 'unknown key "input_shape" (the input shape goes in inputShape)'],
      [() => importKeras(plugin, { config: { trainable: 'no' }, weights }), 'E_OPTION', 'config.trainable: expected a boolean'],
      [() => importKeras(plugin, { weights: { 'bn_1/beta:0': [1], 'bn_2/moving_mean:0': [0] } }), 'E_STATE', 'expected the weights of one layer, got keys under "bn_1/", "bn_2/"'],
      [() => importKeras(plugin, { weights: [[1e39, 1], [0, 0]] }), 'E_NONFINITE', 'weights[0] (beta): 1e+39 at [0] is more than float32 holds; import with { dtype: \'float64\' }'],
      [() => importKeras(plugin, { weights: { 'bn/beta:0': [1, Number.NaN], 'bn/moving_mean:0': [0, 0] } }), 'E_NONFINITE', 'keras weights["bn/beta:0"]: expected finite values, got NaN at [1]'],
    ];
    for (const [call, code, message] of cases) {
      const error = thrown(call);
      expect(error.code, error.message).toBe(code);
      expect(error.message).toContain(message);
    }
    expect(importKeras(plugin, { weights: [[1e39, 1], [0, 0]] }, { dtype: 'float64' }).stateDict.bias.data[0]).toBe(1e39);
  });
});
