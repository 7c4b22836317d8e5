import { describe, expect, it } from 'vitest';
import { thrown } from '../test/thrown.js';
import { momentumFromKeras, readKerasConfig } from './keras-config.js';

describe('momentumFromKeras', () => {
  it('is 1 − m without the binary residue (0.99 → 0.01 exactly)', () => {
    expect(1 - 0.99).not.toBe(0.01);
    expect([0.99, 0.9, 0.999, 1, 0].map(momentumFromKeras)).toEqual([0.01, 0.1, 0.001, 0, 1]);
    for (const bad of [Number.NaN, 2, -0.5, '0.9']) expect(thrown(() => momentumFromKeras(bad as never)).code).toBe('E_OPTION');
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
      [() => readKerasConfig([], 'X'), 'keras X config: expected a plain object'],
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
    // a Map has no own keys: it would read as {} (every default), so it is refused
    expect(thrown(() => readKerasConfig(new Map([['epsilon', 0.5]]), 'X')).message).toContain('expected a plain object (get_config() / getConfig()), got a Map');
    expect(thrown(() => readKerasConfig({ groups: '2' }, 'X').number('groups', 32)).message).toBe('keras X config.groups: expected a finite number, got "2"');
  });
});
