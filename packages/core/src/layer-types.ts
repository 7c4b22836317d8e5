import type { TensorMap } from './normalizer.js';
import type { Tensor } from './tensor.js';

/**
 * What the **type** of a boolean option says about it: `true` when it is `true` (or left out
 * and `Default` is true), `false` when it is `false` (or left out and `Default` is false), and
 * `boolean` when the type does not tell (a variable of type `boolean`).
 *
 * Layer classes use it to type their parameters and running statistics as present where the
 * options make them present: `new BatchNorm({ numFeatures: 3 })` has `weight: Tensor`, and
 * `new BatchNorm({ numFeatures: 3, affine: false })` has `weight: undefined`.
 *
 * @typeParam O - the options as the caller wrote them (inferred by a layer's constructor)
 * @typeParam K - the option's name, e.g. `'affine'`
 * @typeParam Default - the option's default
 */
export type OptionFlag<O, K extends PropertyKey, Default extends boolean> = FlagOfValue<K extends keyof O ? O[K] : undefined, Default>;

/**
 * {@link OptionFlag} on the option's type itself: `V` is the type of the option's value
 * (`undefined` when it is left out).
 */
export type FlagOfValue<V, Default extends boolean> = [V] extends [undefined]
  ? Default
  : [V] extends [true]
    ? true
    : [V] extends [false]
      ? false
      : [V] extends [true | undefined]
        ? Default extends true
          ? true
          : boolean
        : [V] extends [false | undefined]
          ? Default extends false
            ? false
            : boolean
          : boolean;

/**
 * Both flags on: `true` when both are, `false` when either is off, `boolean` otherwise (layer
 * norm's `bias` exists when `elementwiseAffine && bias`).
 */
export type BothFlags<A extends boolean, B extends boolean> = [A] extends [false]
  ? false
  : [B] extends [false]
    ? false
    : [A] extends [true]
      ? [B] extends [true]
        ? true
        : boolean
      : boolean;

/** `Names` when the flag is `true`; `never` when it is off or not known. */
export type NamesIf<Flag extends boolean, Names extends string> = [Flag] extends [true] ? Names : never;

/**
 * The type of a layer's accessor for an entry switched by a flag: `Tensor` when on,
 * `undefined` when off, `Tensor | undefined` when the type does not tell.
 */
export type TensorIf<Flag extends boolean> = [Flag] extends [true] ? Tensor : [Flag] extends [false] ? undefined : Tensor | undefined;

/**
 * A layer's parameters, state or gradients: a {@link TensorMap} whose `Present` names are
 * known to exist (typed `Tensor`, no `!` needed), the others optional.
 *
 * @typeParam K - every name
 * @typeParam Present - the names the options make present
 */
export type LayerTensors<K extends string, Present extends K = never> = TensorMap<K> & { readonly [P in Present]: Tensor };
