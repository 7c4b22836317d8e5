import { describe, expect, it } from 'vitest';
import { booleanOption, numberOption, readOptions, shapeOption } from './options.js';
import { NormkitError } from './errors.js';

function error(fn: () => unknown): NormkitError | undefined {
  try {
    fn();
  } catch (e) {
    return e as NormkitError;
  }
  return undefined;
}

describe('option helpers', () => {
  it('read known keys, fill defaults and check ranges', () => {
    const o = readOptions({ eps: 1e-3, affine: false, shape: 4 }, ['eps', 'affine', 'shape', 'momentum'], 'p');
    expect(numberOption(o, 'eps', 1e-5, { greaterThan: 0 }, 'p')).toBe(1e-3);
    expect(numberOption(o, 'momentum', 0.1, { min: 0, max: 1 }, 'p')).toBe(0.1);
    expect(booleanOption(o, 'affine', true, 'p')).toBe(false);
    expect(shapeOption(o, 'shape', 'p')).toEqual([4]);
    expect(readOptions(undefined, [], 'p')).toEqual({});
  });

  it('reject bad values with E_OPTION naming the option, the expectation and the value', () => {
    const e1 = error(() => numberOption({ eps: 0 }, 'eps', 1e-5, { greaterThan: 0 }, 'batch-norm'));
    expect(e1?.code).toBe('E_OPTION');
    expect(e1?.message).toBe('batch-norm options.eps: expected a finite number > 0, got 0');
    expect(error(() => numberOption({ n: 2.5 }, 'n', undefined, { integer: true }, 'p'))?.code).toBe('E_OPTION');
    expect(error(() => numberOption({}, 'n', undefined, { integer: true }, 'p'))?.message).toContain('got undefined');
    expect(error(() => numberOption({ n: NaN }, 'n', 1, {}, 'p'))?.message).toContain('got NaN');
    expect(error(() => booleanOption({ affine: 'yes' }, 'affine', true, 'p'))?.code).toBe('E_OPTION');
    expect(error(() => shapeOption({ s: [2, 0] }, 's', 'p'))?.code).toBe('E_OPTION');
    expect(error(() => readOptions({ epz: 1 }, ['eps'], 'p'))?.argument).toBe('options.epz');
    expect(error(() => readOptions(5, ['eps'], 'p'))?.code).toBe('E_OPTION');
    // Options given positionally (new LayerNorm(768), a PyTorch habit): the message lists the named options.
    expect(error(() => readOptions(768, ['normalizedShape', 'eps'], 'layer-norm'))?.message).toBe(
      'layer-norm options: expected an object of named options (normalizedShape, eps), got 768',
    );
  });
});

describe('unknown options: hints for names from PyTorch, Keras, TF.js and Flax', () => {
  const BN = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'channelAxis'];
  const LN = ['normalizedShape', 'eps', 'elementwiseAffine', 'bias'];
  const GN = ['numGroups', 'numChannels', 'eps', 'affine', 'channelAxis'];
  const messageOf = (options: object, known: readonly string[]) => error(() => readOptions(options, known, 'p'))?.message;

  it.each([
    [{ num_features: 3 }, BN, 'Did you mean numFeatures? (normkit\'s options are camelCase)'],
    [{ track_running_stats: false }, BN, 'Did you mean trackRunningStats?'],
    [{ Eps: 1e-3 }, BN, 'Did you mean eps?'],
    [{ epsilon: 1e-3 }, BN, "Keras's and TF.js's epsilon is eps here (the defaults differ between frameworks: pass it explicitly when porting)."],
    [{ axis: -1 }, BN, "Keras's axis (the channel axis) is channelAxis here: channelAxis: -1 for channels-last data."],
    [{ axis: -1 }, LN, "Keras's axis is normalizedShape here"],
    [{ center: false }, BN, "Keras's center and scale are one switch here, affine"],
    [{ center: false }, LN, "Keras's center is bias here (center: false → bias: false)."],
    [{ scale: false }, LN, "Keras's scale (γ) is elementwiseAffine here; elementwiseAffine: false drops every parameter."],
    [{ groups: 4 }, GN, "Keras's groups is numGroups here (groups: -1, one group per channel, is numGroups: numChannels)."],
    [{ dataFormat: 'channelsLast' }, BN, 'channelsLast → channelAxis: -1'],
    [{ training: false }, BN, "training is a mode here, not an option: call layer.train() or layer.eval() (a plugin's forward takes { mode })."],
    [{ use_running_average: true }, BN, "Flax's use_running_average is the mode here: layer.eval() uses the running statistics."],
    [{ use_running_average: true }, LN, "Flax's use_running_average is the mode here: layer.train() or layer.eval()."],
  ])('%o', (options, known, hint) => {
    const message = messageOf(options, known);
    expect(message).toMatch(/^p options: unknown option "\w+"; expected one of /);
    expect(message).toContain(hint);
  });

  it('no hint for a name that maps to nothing here, nor through the prototype', () => {
    expect(messageOf({ groups: 4 }, BN)).toBe(`p options: unknown option "groups"; expected one of ${BN.join(', ')}`);
    expect(messageOf({ center: false }, ['inFeatures', 'outFeatures', 'bias'])).toBe('p options: unknown option "center"; expected one of inFeatures, outFeatures, bias');
    expect(messageOf({ constructor: 1 }, BN)).toBe(`p options: unknown option "constructor"; expected one of ${BN.join(', ')}`);
    expect(messageOf({ colour: 1 }, BN)).toBe(`p options: unknown option "colour"; expected one of ${BN.join(', ')}`);
  });
});
