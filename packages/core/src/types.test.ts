// Type tests: `tsc -p tsconfig.test.json` (part of `npm test`) checks every expectTypeOf and
// fails on an unused `@ts-expect-error`, so a line marked with it must stay a type error.
// At run time expectTypeOf does nothing; the runtime assertions here check the same facts
// where they are observable.
//
// Everything comes from '@normkit/core', as in a user's package (the mean-center fixture is
// written that way): type inference through `Normalizer<T>` needs the plugin and the function
// taking it to share one copy of core's declarations.
import {
  Layer,
  checkBackward,
  checkForward,
  createRegistry,
  defineNormalizer,
  fromArray,
  numberOption,
  readOptions,
  zeros,
} from '@normkit/core';
import type {
  BoundNormalizer,
  TensorMap,
  ForwardResult,
  InputOptionsOf,
  NormSaved,
  Normalizer,
  NormalizerTypes,
  OptionsOf,
  Tensor,
  TypesOf,
} from '@normkit/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { meanCenter } from '../test/fixtures/mean-center.js';
import type { MeanCenterTypes } from '../test/fixtures/mean-center.js';

interface IdentityTypes extends NormalizerTypes {
  Name: 'identity';
  InputOptions: { scale?: number };
  Options: { scale: number };
  Params: never;
  State: never;
  Saved: { scale: number };
}

/** A second plugin with a literal name, for the registry's types. */
const identity = defineNormalizer<IdentityTypes>({
  meta: { name: 'identity', version: '0.0.0', description: 'y = scale·x', formula: 'y = s x' },
  modes: ['train'],
  exampleOptions: [{}],
  resolveOptions: (input) => ({ scale: numberOption(readOptions(input, ['scale'], 'identity'), 'scale', 1, {}, 'identity') }),
  bind: (options) => ({
    paramShapes: () => ({}),
    stateShapes: () => ({}),
    init: () => ({ params: {}, state: {} }),
    exampleShapes: () => [[2]],
    forward: ({ x, state }) => ({ y: fromArray(Array.from(x.data, (v) => v * options.scale), x.shape, 'float64'), state, saved: { scale: options.scale } }),
    backward: ({ dy, saved }) => ({ dx: fromArray(Array.from(dy.data, (v) => v * saved.scale), dy.shape, 'float64'), grads: {} }),
  }),
});

describe('types of a plugin written in its own package (the mean-center fixture)', () => {
  it('type-checks with no casts: the plugin, its bound form and what forward returns are precisely typed', () => {
    expectTypeOf(meanCenter).toEqualTypeOf<Normalizer<MeanCenterTypes>>();
    expectTypeOf(meanCenter.meta.name).toEqualTypeOf<'mean-center'>();
    expectTypeOf<TypesOf<typeof meanCenter>>().toEqualTypeOf<MeanCenterTypes>();
    expectTypeOf<OptionsOf<typeof meanCenter>>().toEqualTypeOf<{ numFeatures: number; momentum: number }>();
    expectTypeOf<InputOptionsOf<typeof meanCenter>>().toEqualTypeOf<{ numFeatures: number; momentum?: number }>();
    const bound = meanCenter.create({ numFeatures: 2 });
    expectTypeOf(bound).toEqualTypeOf<BoundNormalizer<MeanCenterTypes>>();
    expectTypeOf(bound.options).toEqualTypeOf<{ numFeatures: number; momentum: number }>();
    expectTypeOf<OptionsOf<typeof bound>>().toEqualTypeOf<{ numFeatures: number; momentum: number }>();
    const { params, state } = bound.init('float64');
    expectTypeOf(params.bias).toEqualTypeOf<Tensor | undefined>();
    const result = bound.forward({ x: zeros([4, 2], 'float64'), params, state, mode: 'train' });
    expectTypeOf(result).toEqualTypeOf<ForwardResult<MeanCenterTypes>>();
    expectTypeOf(result.saved).toEqualTypeOf<NormSaved>();
    expectTypeOf(bound.backward({ dy: zeros([4, 2], 'float64'), params, saved: result.saved }).grads.bias).toEqualTypeOf<Tensor | undefined>();
    expect(bound.options).toEqual({ numFeatures: 2, momentum: 0.1 });
  });

  it('options are bound at creation: a plugin has no forward, and a bound forward takes no options', () => {
    const bound = meanCenter.create({ numFeatures: 2 });
    const { params, state } = bound.init('float64');
    const args = { x: fromArray([1, 2, 3, 4], [2, 2], 'float64'), params, state, mode: 'train' as const };
    // @ts-expect-error the old contract: plugin.forward(args, options) — gone
    expect(() => meanCenter.forward(args, bound.options)).toThrow(TypeError);
    // @ts-expect-error the old contract: plugin.init(options, dtype) — gone
    expect(() => meanCenter.init(bound.options, 'float64')).toThrow(TypeError);
    const y = bound.forward(args).y;
    // @ts-expect-error a bound normalizer's forward takes one argument; options cannot come in late
    const late = bound.forward(args, { numFeatures: 3, momentum: 0.5 }).y;
    // at run time the extra argument is ignored: the bound options win
    expect(Array.from(late.data)).toEqual(Array.from(y.data));
    // @ts-expect-error paramShapes() closes over the options
    expect(bound.paramShapes(bound.options)).toEqual({ bias: [2] });
  });

  it('create and Layer check the input options type', () => {
    // @ts-expect-error numFeatures is a number
    expect(() => meanCenter.create({ numFeatures: '2' })).toThrow();
    // @ts-expect-error an unknown key (a typo) is a type error as well as E_OPTION
    expect(() => new Layer(meanCenter, { numFeatures: 2, momentun: 0.1 })).toThrow();
    const layer = new Layer(meanCenter, { numFeatures: 2 });
    expectTypeOf(layer.options).toEqualTypeOf<{ numFeatures: number; momentum: number }>();
    expectTypeOf(layer.normalizer).toEqualTypeOf<BoundNormalizer<MeanCenterTypes>>();
  });

  it('a definition in the old shape does not type-check', () => {
    const make = () =>
      defineNormalizer<IdentityTypes>({
        meta: identity.meta,
        modes: ['train'],
        exampleOptions: [{}],
        resolveOptions: identity.resolveOptions,
        // @ts-expect-error methods taking options belong in bind(options), not on the definition
        paramShapes: (_options: IdentityTypes['Options']) => ({}),
        bind: () => ({
          paramShapes: () => ({}),
          stateShapes: () => ({}),
          init: () => ({ params: {}, state: {} }),
          exampleShapes: () => [[2]],
          forward: ({ x, state }) => ({ y: x, state, saved: { scale: 1 } }),
          backward: ({ dy }) => ({ dx: dy, grads: {} }),
        }),
      });
    expect(make().meta.name).toBe('identity');
    // @ts-expect-error bind's methods are required: a definition without forward/backward is refused
    const incomplete = () => defineNormalizer<IdentityTypes>({ ...identity, bind: () => ({ paramShapes: () => ({}), stateShapes: () => ({}), init: () => ({ params: {}, state: {} }), exampleShapes: () => [] }) });
    // nothing checks this at run time: the bound normalizer simply lacks the methods
    expect('forward' in incomplete().create({})).toBe(false);
  });
});

describe('types of a registry', () => {
  it('is typed by literal name: get returns each plugin’s own type, and Normalizer for other names', () => {
    const registry = createRegistry([meanCenter, identity]);
    const got = registry.get('mean-center');
    expectTypeOf(got).toEqualTypeOf<typeof meanCenter>();
    expectTypeOf(registry.get('identity')).toEqualTypeOf<typeof identity>();
    expectTypeOf(registry.get('identity').create({ scale: 2 }).options).toEqualTypeOf<{ scale: number }>();
    const unknownName = () => registry.get('batch-norm');
    expectTypeOf(unknownName).returns.toEqualTypeOf<Normalizer>();
    expect(unknownName).toThrow('registry: no normalizer named "batch-norm"; registered: identity, mean-center');
    expect(got).toBe(meanCenter);
    expect(registry.get('identity')).toBe(identity);
    // register extends the type with the new name
    const more = createRegistry([identity]).register(meanCenter);
    expectTypeOf(more.get('mean-center')).toEqualTypeOf<typeof meanCenter>();
    // @ts-expect-error the identity plugin takes { scale?: number }
    expect(() => registry.get('identity').create({ numFeatures: 2 })).toThrow('identity options: unknown option "numFeatures"');
  });
});

/** Forward arguments as a plugin's `forward` receives them, by parameter and state names. */
type ForwardArgs<P extends string, S extends string> = { x: Tensor; params: TensorMap<P>; state: TensorMap<S>; mode: 'train' | 'eval' };

describe('types inside a plugin: checkForward and checkBackward keep the parameter and state names', () => {
  it('params and state are keyed by the plugin’s names, so a typo is a compile error; untyped arguments give string keys', () => {
    const bound = meanCenter.create({ numFeatures: 2 });
    const { params, state } = bound.init('float64');
    const spec = { plugin: 'mean-center', minRank: 2, paramShapes: bound.paramShapes(), stateShapes: bound.stateShapes() };
    const typedArgs: ForwardArgs<'bias', 'runningMean'> = { x: fromArray([1, 2, 3, 4], [2, 2], 'float64'), params, state, mode: 'train' };
    const checked = checkForward(typedArgs, spec);
    expectTypeOf(checked.params).toEqualTypeOf<Readonly<Record<'bias', Tensor>>>();
    expectTypeOf(checked.state).toEqualTypeOf<Readonly<Record<'runningMean', Tensor>>>();
    // @ts-expect-error a misspelt parameter name (it compiled when params were Record<string, Tensor>)
    expect(checked.params.bais).toBeUndefined();
    expect(checked.params.bias).toBe(params.bias);
    const backward = checkBackward({ dy: typedArgs.x, params }, typedArgs.x, spec);
    expectTypeOf(backward.params).toEqualTypeOf<Readonly<Record<'bias', Tensor>>>();
    const untyped: { x: unknown; params: unknown; state: unknown; mode: unknown } = typedArgs;
    expectTypeOf(checkForward(untyped, spec).params).toEqualTypeOf<Readonly<Record<string, Tensor>>>();
  });
});
