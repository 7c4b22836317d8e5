import type { Dtype, Shape, Tensor } from './tensor.js';

/** `'train'` uses batch statistics and updates running ones; `'eval'` uses what was learned. */
export type Mode = 'train' | 'eval';

/** What a normalizer says about itself, for registries, reports and docs. */
export interface NormalizerMeta {
  /** Stable kebab-case name, e.g. `"batch-norm"`. */
  readonly name: string;
  /** The version of the package that ships it. */
  readonly version: string;
  /** One line saying what it computes. */
  readonly description: string;
  /** The forward formula as a LaTeX string, for docs. */
  readonly formula: string;
}

/**
 * The one generic "type bag" of a normalizer (as ESLint's rule types): instead of five
 * positional type parameters, a plugin names its types here.
 *
 * @example
 * ```ts
 * interface RmsTypes extends NormalizerTypes {
 *   InputOptions: { features: number; eps?: number };
 *   Options: { features: number; eps: number };
 *   Params: 'weight';
 *   State: never;
 *   Saved: { x: Tensor; invRms: Float64Array };
 * }
 * ```
 */
export interface NormalizerTypes {
  /** What a user passes to `resolveOptions` (partial, with defaults to fill). */
  InputOptions: object;
  /** The resolved options every other method receives. */
  Options: object;
  /** Union of parameter names (`never` when there are none). */
  Params: string;
  /** Union of state names, e.g. running statistics (`never` when stateless). */
  State: string;
  /** What `forward` hands to `backward`. */
  Saved: object;
}

/**
 * A record of named tensors. Entries may be absent when options switch them off
 * (batch norm with `affine: false` has no `weight`).
 */
export type TensorMap<K extends string> = { readonly [P in K]?: Tensor };

/** What {@link Normalizer.forward} receives. */
export interface ForwardArgs<T extends NormalizerTypes> {
  /** The input. Never mutated. */
  readonly x: Tensor;
  /** The parameters. Never mutated. */
  readonly params: TensorMap<T['Params']>;
  /** The state (running statistics). Never mutated: the next state is returned. */
  readonly state: TensorMap<T['State']>;
  /** Train or eval. */
  readonly mode: Mode;
  /**
   * Optional preallocated output: a row-major contiguous tensor with `x`'s shape and dtype,
   * not overlapping `x`, the parameters or the state. When given, `y` is written into its
   * memory (the returned `y` is `out` itself, or a view of the same memory when `out` starts at
   * an offset), so a training loop allocates no output per step. Plugins that do not support it ignore it.
   */
  readonly out?: Tensor;
}

/** What {@link Normalizer.forward} returns. */
export interface ForwardResult<T extends NormalizerTypes> {
  /** The output, with the input's dtype. */
  readonly y: Tensor;
  /** The next state: new tensors where anything changed, the given ones otherwise. */
  readonly state: TensorMap<T['State']>;
  /** What backward needs, and no more. */
  readonly saved: T['Saved'];
}

/** What {@link Normalizer.backward} receives. */
export interface BackwardArgs<T extends NormalizerTypes> {
  /** The upstream gradient ∂L/∂y, shaped like `y`. Never mutated. */
  readonly dy: Tensor;
  /** The parameters used in the forward call. */
  readonly params: TensorMap<T['Params']>;
  /** The `saved` value of the forward call being differentiated. */
  readonly saved: T['Saved'];
  /**
   * Optional preallocated output for `dx`: a row-major contiguous tensor with `x`'s shape
   * and dtype, not overlapping `x` or `dy`. Plugins that do not support it ignore it.
   */
  readonly out?: Tensor;
}

/** What {@link Normalizer.backward} returns: the vector–Jacobian products. */
export interface BackwardResult<T extends NormalizerTypes> {
  /** ∂L/∂x, shaped like `x`, with `x`'s dtype. */
  readonly dx: Tensor;
  /** ∂L/∂p for every parameter p present, shaped and typed like p. */
  readonly grads: TensorMap<T['Params']>;
}

/**
 * A property of the backward pass that holds exactly (up to rounding), declared so a
 * checker can test it without knowing the plugin:
 *
 * - `'zero-sum'`: Σ dx = 0 over `reduceAxes`, for each index of the other axes
 *   (mean-centering normalizers: the output does not move when a group is shifted);
 * - `'orthogonal-to-input'`: ⟨dx, x⟩ = 0 over `reduceAxes`, per group
 *   (weight norm: w does not change when v is scaled).
 */
export interface Invariant {
  /** Which identity. */
  readonly kind: 'zero-sum' | 'orthogonal-to-input';
  /** The axes of `x` the sum runs over; the other axes index the groups. */
  readonly reduceAxes: readonly number[];
}

/** Fresh parameters and state, as {@link Normalizer.init} makes them. */
export interface Initialized<T extends NormalizerTypes> {
  /** Parameters at their initial values. */
  readonly params: TensorMap<T['Params']>;
  /** State at its initial values. */
  readonly state: TensorMap<T['State']>;
}

/**
 * The plugin contract every normalizer implements: a plain typed object, pure and
 * functional, so a checker can call it thousands of times at perturbed inputs.
 *
 * - `forward` never mutates `x`, `params` or `state`; the next state comes back as a value.
 * - `backward` is the vector–Jacobian product of `forward` for every differentiable
 *   input (`dx`) and parameter (`grads`).
 * - Bad input throws a {@link NormkitError} before anything is computed.
 *
 * Write one with {@link defineNormalizer} to get the types inferred.
 */
export interface Normalizer<T extends NormalizerTypes = NormalizerTypes> {
  /** Name, version, description, formula. */
  readonly meta: NormalizerMeta;
  /**
   * The modes the plugin distinguishes (`['train']` when it has no eval behaviour of its
   * own). `forward` accepts both modes regardless; a checker exercises those listed here.
   */
  readonly modes: readonly Mode[];
  /**
   * Option sets a checker should exercise by default (each passes `resolveOptions`).
   * The first is the canonical example.
   */
  readonly exampleOptions: readonly T['InputOptions'][];

  /**
   * Validates user options and fills defaults.
   *
   * @param input - the user's options (`undefined` counts as `{}`)
   * @returns the resolved options every other method receives
   * @throws NormkitError `E_OPTION` naming the bad option, what was expected and what came
   */
  resolveOptions(input?: T['InputOptions']): T['Options'];

  /**
   * The shape of each parameter under these options (absent names have no parameter).
   *
   * @param options - resolved options
   * @returns parameter name → shape
   */
  paramShapes(options: T['Options']): { readonly [P in T['Params']]?: Shape };

  /**
   * The shape of each state entry under these options.
   *
   * @param options - resolved options
   * @returns state name → shape (`[]` for a 0-d scalar such as a step counter)
   */
  stateShapes(options: T['Options']): { readonly [P in T['State']]?: Shape };

  /**
   * Fresh parameters and state.
   *
   * @param options - resolved options
   * @param dtype - the dtype of parameters and floating state (default `'float32'`)
   * @returns new parameter and state tensors, shaped as {@link Normalizer.paramShapes} and
   *   {@link Normalizer.stateShapes} say
   */
  init(options: T['Options'], dtype?: Dtype): Initialized<T>;

  /**
   * A few valid input shapes for these options, small enough for a full Jacobian.
   *
   * @param options - resolved options
   * @returns at least one shape `forward` accepts
   */
  exampleShapes(options: T['Options']): readonly Shape[];

  /**
   * The exact identities the backward pass obeys for this input shape and mode
   * (see {@link Invariant}); none when omitted.
   *
   * @param options - resolved options
   * @param mode - the mode of the forward call being differentiated
   * @param xShape - the input's shape
   * @returns the identities that hold exactly (may be empty)
   */
  invariants?(options: T['Options'], mode: Mode, xShape: Shape): readonly Invariant[];

  /**
   * Checks values of a state that are valid tensors but not valid state for this plugin (a
   * negative running variance, a fractional step counter), so that a state dict is refused
   * when it is loaded rather than at the next forward call. Optional; `Layer.loadStateDict`
   * calls it after its own name, shape, dtype and finiteness checks, before changing anything.
   *
   * @param state - the complete state that would be adopted
   * @param options - resolved options
   * @throws NormkitError `E_STATE` naming the entry and what was expected
   */
  validateState?(state: TensorMap<T['State']>, options: T['Options']): void;

  /**
   * The forward pass. Pure: `x`, `params` and `state` are not mutated.
   *
   * @param args - `x`, `params`, `state`, `mode`, and optionally a preallocated `out`
   * @param options - resolved options (from {@link Normalizer.resolveOptions})
   * @returns `y`, the next state and what `backward` needs
   * @throws NormkitError on bad input, before anything is computed: typically `E_DTYPE` /
   *   `E_SHAPE` for `x`, parameters or `out`, `E_STATE` for a missing or extra parameter or
   *   state entry, `E_OPTION` for a bad mode, and plugin-specific `E_DEGENERATE` /
   *   `E_NONFINITE`
   */
  forward(args: ForwardArgs<T>, options: T['Options']): ForwardResult<T>;

  /**
   * The backward pass: vector–Jacobian products of `forward` with `dy`,
   * $`dx = (\partial y / \partial x)^\top dy`$ and $`dp = (\partial y / \partial p)^\top dy`$
   * for every parameter $`p`$.
   *
   * @param args - `dy`, the `params` and the `saved` value of the forward call, and optionally `out`
   * @param options - the resolved options of that forward call
   * @returns `dx` and the parameter gradients
   * @throws NormkitError on bad input: `E_SHAPE` / `E_DTYPE` for a `dy` that is not a float
   *   tensor of `y`'s shape (or a bad `out`), `E_STATE` for a `saved` value that does not fit
   */
  backward(args: BackwardArgs<T>, options: T['Options']): BackwardResult<T>;
}

/**
 * Identity function that types a plugin object: write your normalizer inside it and
 * TypeScript checks it against the contract with no casts. It checks nothing at run time
 * (use {@link assertNormalizer} for that).
 *
 * @param plugin - the plugin object
 * @returns `plugin` itself
 *
 * @example
 * ```ts
 * export const myNorm = defineNormalizer<MyTypes>({ meta: {...}, modes: ['train'], ... });
 * ```
 */
export function defineNormalizer<T extends NormalizerTypes>(plugin: Normalizer<T>): Normalizer<T> {
  return plugin;
}

/** The type bag of a normalizer object. */
export type TypesOf<N> = N extends Normalizer<infer T> ? T : never;

/** The resolved options type of a normalizer object. */
export type OptionsOf<N> = TypesOf<N>['Options'];

/** The input options type of a normalizer object. */
export type InputOptionsOf<N> = TypesOf<N>['InputOptions'];
