import { describe, expect, it } from 'vitest';
import { meanCenter } from '../test/fixtures/mean-center.js';
import type { MeanCenterTypes } from '../test/fixtures/mean-center.js';
import { NormkitError } from './errors.js';
import { importKeras, kerasCommonShape, momentumFromKeras, readKerasConfig } from './keras.js';
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

function thrown(f: () => unknown): NormkitError {
  try {
    f();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  throw new Error('expected a NormkitError, nothing was thrown');
}

describe('momentumFromKeras', () => {
  it('is 1 − m without the binary residue (0.99 → 0.01 exactly)', () => {
    expect(1 - 0.99).not.toBe(0.01);
    expect([0.99, 0.9, 0.999, 1, 0].map(momentumFromKeras)).toEqual([0.01, 0.1, 0.001, 0, 1]);
  });
});

describe('readKerasConfig', () => {
  it('reads snake_case (Python) and camelCase (TF.js) keys alike, with Keras defaults for absent ones', () => {
    const python = readKerasConfig({ moving_mean_initializer: 'zeros', epsilon: 0.01, center: false, axis: [1, 2] }, 'X');
    const tfjs = readKerasConfig({ movingMeanInitializer: 'zeros', epsilon: 0.01, center: false, axis: [1, 2] }, 'X');
    for (const config of [python, tfjs]) {
      expect(config.has('movingMeanInitializer')).toBe(true);
      expect(config.number('epsilon', 1e-3)).toBe(0.01);
      expect(config.number('momentum', 0.99)).toBe(0.99);
      expect(config.boolean('center', true)).toBe(false);
      expect(config.boolean('scale', true)).toBe(true);
      expect(config.axes('axis', -1)).toEqual([1, 2]);
    }
    expect(readKerasConfig({}, 'X').axes('axis', -1)).toEqual([-1]);
  });

  it('refuses bad values with E_OPTION naming the key as Keras spells it', () => {
    const cases: [() => unknown, string][] = [
      [() => readKerasConfig([], 'X'), 'keras X config: expected an object'],
      [() => readKerasConfig({ epsilon: 1e-3, epsilon_: 2 }, 'X').number('epsilon', 0), ''],
      [() => readKerasConfig({ renorm_momentum: 0.9, renormMomentum: 0.5 }, 'X'), 'renorm_momentum is given twice (as renormMomentum and renorm_momentum) with different values'],
      [() => readKerasConfig({ epsilonValue: -1 }, 'X').number('epsilonValue', 1, { above: 0 }), 'keras X config.epsilon_value: expected a finite number > 0, got -1'],
      [() => readKerasConfig({ momentum: NaN }, 'X').number('momentum', 0.99, { min: 0, max: 1 }), 'config.momentum: expected a finite number in [0, 1], got NaN'],
      [() => readKerasConfig({ center: 'true' }, 'X').boolean('center', true), 'config.center: expected a boolean, got "true"'],
      [() => readKerasConfig({ axis: [] }, 'X').axes('axis', -1), 'config.axis: expected an integer or a non-empty list of integers, got an array of length 0'],
      [() => readKerasConfig({ axis: 1.5 }, 'X').axes('axis', -1), 'got 1.5'],
      [() => readKerasConfig({ renorm: true }, 'X').refuse('renorm', false, 'use Y'), "config.renorm: normkit's import supports only false, got true; use Y"],
    ];
    for (const [call, message] of cases) {
      if (message === '') {
        // A key that only looks like another (epsilon_) is a different key: no conflict, no error.
        expect(call()).toBe(1e-3);
        continue;
      }
      const error = thrown(call);
      expect(error.code).toBe('E_OPTION');
      expect(error.message).toContain(message);
    }
    expect(() => readKerasConfig({ virtual_batch_size: null }, 'X').refuse('virtualBatchSize', null, '')).not.toThrow();
    expect(() => readKerasConfig({ same: 1, Same: 1 }, 'X')).not.toThrow();
  });
});

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
      [() => importKeras(plugin, null as never), 'E_OPTION', 'keras layer: expected { config, weights }, got null'],
      [() => importKeras(plugin, { className: 'Dense', weights: [] }), 'E_OPTION', 'mean-center imports MeanCentering, got "Dense"'],
      [() => importKeras(plugin, { weights: [[1], [2]] }, { dtype: 'int8' as never }), 'E_OPTION', "options.dtype: expected 'float32' or 'float64'"],
      [() => importKeras(plugin, { weights: [[1], [2]] }, { fillMissingAffine: 'yes' as never }), 'E_OPTION', 'options.fillMissingAffine: expected a boolean'],
      [() => importKeras(plugin, { weights: [[1], [2]] }, { overrides: [] as never }), 'E_OPTION', 'options.overrides: expected an object'],
      [() => importKeras(plugin, { weights: [[1], [2]], inputShape: [null, -1] }), 'E_OPTION', 'layer.inputShape: expected a list of sizes or nulls'],
      [() => importKeras(plugin, { weights: 'beta' as never }), 'E_STATE', 'expected the get_weights() list or an object keyed by weight name'],
      [() => importKeras(plugin, { weights: { 'a/beta:0': [1], beta: [1], moving_mean: [0] } }), 'E_STATE', 'beta is given twice'],
      [() => importKeras(plugin, { weights: [{ shape: [2], dataSync: () => [1] }, [0, 0]] }), 'E_STATE', 'weights[0] (beta): expected dataSync() to give Π shape = 2 values'],
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
});
