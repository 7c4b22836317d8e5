import { NormkitError, describeValue } from './errors.js';
import type { Moments } from './moments.js';
import type { KerasNames } from './keras.js';
import type { OnnxExport } from './onnx.js';
import type { Dtype, Shape, Tensor } from './tensor.js';

/** `'train'` uses batch statistics and updates running ones; `'eval'` uses what was learned. */
export type Mode = 'train' | 'eval';

/** What a normalizer says about itself, for registries, reports and docs. */
export interface NormalizerMeta<Name extends string = string> {
  /** Stable kebab-case name, e.g. `"batch-norm"`. */
  readonly name: Name;
  /** The version of the package that ships it. */
  readonly version: string;
  /** One line saying what it computes. */
  readonly description: string;
  /** The forward formula as a LaTeX string, for docs. */
  readonly formula: string;
}

/**
 * The one generic "type bag" of a normalizer (as ESLint's rule types): instead of six
 * positional type parameters, a plugin names its types here.
 *
 * @example
 * ```ts
 * interface MeanOnlyTypes extends NormalizerTypes {
 *   Name: 'mean-only';
 *   InputOptions: { numFeatures: number; momentum?: number };
 *   Options: { numFeatures: number; momentum: number };
 *   Params: 'bias';
 *   State: 'runningMean';
 *   Saved: { x: Tensor; center: Float64Array };
 * }
 * ```
 */
export interface NormalizerTypes {
  /** The literal `meta.name`, so a registry can hand back the precise type (default `string`). */
  Name: string;
  /** What a user passes to `create` (partial, with defaults to fill). */
  InputOptions: object;
  /** The resolved options a bound normalizer carries. */
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

/** What {@link BoundNormalizer.forward} receives. */
export interface ForwardArgs<T extends NormalizerTypes> {
  /** The input. Never mutated. */
  readonly x: Tensor;
  /** The parameters, of `x`'s dtype. Never mutated. */
  readonly params: TensorMap<T['Params']>;
  /** The state (running statistics). Never mutated: the next state is returned. */
  readonly state: TensorMap<T['State']>;
  /** Train or eval. */
  readonly mode: Mode;
  /**
   * Optional preallocated output: a row-major contiguous tensor with `y`'s shape (`x`'s, for
   * a normalizer) and `x`'s dtype, not overlapping `x`, the parameters or the state. When
   * given, every element of `y` is written into its memory and nothing else is (the returned
   * `y` is `out` itself, or a view of the same memory when `out` starts at an offset), so a
   * training loop allocates no output per step. A plugin that cannot write into a caller's
   * buffer throws a `NormkitError` when given one; it never ignores it.
   */
  readonly out?: Tensor;
}

/** What {@link BoundNormalizer.forward} returns. */
export interface ForwardResult<T extends NormalizerTypes> {
  /** The output, with the input's dtype. */
  readonly y: Tensor;
  /** The next state: new tensors where anything changed, the given ones otherwise. */
  readonly state: TensorMap<T['State']>;
  /** What backward needs, and no more. */
  readonly saved: T['Saved'];
}

/** What {@link BoundNormalizer.backward} receives. */
export interface BackwardArgs<T extends NormalizerTypes> {
  /** The upstream gradient ∂L/∂y, shaped like `y`, float32 or float64. Never mutated. */
  readonly dy: Tensor;
  /** The parameters used in the forward call. */
  readonly params: TensorMap<T['Params']>;
  /** The `saved` value of the forward call being differentiated. Never mutated (backward may be called again with it). */
  readonly saved: T['Saved'];
  /**
   * Optional preallocated output for `dx`: a row-major contiguous tensor with `x`'s shape
   * and dtype, not overlapping `x`, `dy` or the parameters. As for forward's `out`: every
   * element is written, nothing outside it, and the returned `dx` is `out` or a view of its
   * memory.
   */
  readonly out?: Tensor;
}

/** What {@link BoundNormalizer.backward} returns: the vector–Jacobian products. */
export interface BackwardResult<T extends NormalizerTypes> {
  /** ∂L/∂x, shaped like `x`, with `x`'s dtype (whatever `dy`'s dtype). */
  readonly dx: Tensor;
  /** ∂L/∂p for every parameter p present, shaped and typed like p. */
  readonly grads: TensorMap<T['Params']>;
}

/**
 * What {@link NormalizerMethods.doubleBackward} receives: the backward call being
 * differentiated (`dy`, `params`, `saved`) and the cotangents of its outputs. With them the
 * scalar differentiated is
 * $`S = \langle \mathrm{ddx}, dx\rangle + \sum_p \langle \mathrm{dgrads}_p, \mathrm{grads}_p\rangle`$.
 */
export interface DoubleBackwardArgs<T extends NormalizerTypes> {
  /** The upstream gradient of the backward call (float32 or float64, shaped like `y`). Never mutated. */
  readonly dy: Tensor;
  /** The parameters, as passed to forward and backward. Never mutated. */
  readonly params: TensorMap<T['Params']>;
  /** What the forward call returned as `saved`. */
  readonly saved: T['Saved'];
  /** The cotangent of backward's `dx` (float32 or float64, shaped like `x`). Never mutated. */
  readonly ddx: Tensor;
  /**
   * The cotangents of backward's parameter gradients, each shaped like its parameter (either
   * float dtype); an absent entry (or no record) counts as zero.
   */
  readonly dgrads?: TensorMap<T['Params']>;
}

/**
 * What {@link NormalizerMethods.doubleBackward} returns: the gradients of
 * $`S = \langle \mathrm{ddx}, dx\rangle + \sum_p \langle \mathrm{dgrads}_p, \mathrm{grads}_p\rangle`$
 * with respect to the backward call's inputs, each with `x`'s dtype.
 */
export interface DoubleBackwardResult<T extends NormalizerTypes> {
  /** ∂S/∂x, shaped like `x`. */
  readonly dx: Tensor;
  /**
   * ∂S/∂dy, shaped like `y`. It equals the forward-mode JVP of `y` along
   * $`(\mathrm{ddx}, \mathrm{dgrads})`$: $`J_x\,\mathrm{ddx} + \sum_p J_p\,\mathrm{dgrads}_p`$.
   */
  readonly ddy: Tensor;
  /** ∂S/∂p for every parameter p present, shaped like p (zero for a bias: backward does not depend on it). */
  readonly grads: TensorMap<T['Params']>;
}

/**
 * A property of the backward pass that holds exactly (up to rounding), declared so a
 * checker can test it without knowing the plugin:
 *
 * - `'zero-sum'`: Σ dx = 0 over `reduceAxes`, for each index of the other axes
 *   (mean-centering normalizers: the output does not move when a group is shifted);
 * - `'orthogonal-to-input'`: ⟨dx, x⟩ = 0 over `reduceAxes`, per group
 *   (weight norm and RMS norm: the output does not change when a group is scaled).
 */
export interface Invariant {
  /** Which identity. */
  readonly kind: 'zero-sum' | 'orthogonal-to-input';
  /** The axes of `x` (of the split shape, when `split` is given) the sum runs over; the other axes index the groups. */
  readonly reduceAxes: readonly number[];
  /**
   * Read `x` and `dx` with one axis split first (group norm's channels into
   * `(groups, channels per group)`), so that a group that spans part of an axis can be named.
   */
  readonly split?: AxisSplit;
}

/** One axis of `x` read as several (an invariant's {@link Invariant.split}). */
export interface AxisSplit {
  /** The axis of `x` that is split. */
  readonly axis: number;
  /** The sizes it is split into, outermost first; their product is the axis size. */
  readonly sizes: readonly number[];
}

/**
 * What one batch says about the population statistics that a normalizer's running statistics
 * (`runningMean`, `runningVar`) estimate: what {@link NormalizerMethods.batchMoments} returns
 * and `recalibrate` (PreciseBN) aggregates, with each batch weighted equally.
 *
 * - `'pooled'` (batch norm and its variants: renorm, ghost, sync): the running statistics
 *   estimate the mean and variance of **all values** of a channel. The population moments
 *   are the exact merge ({@link mergeMoments}) of every group of every batch;
 *   `runningMean` is their mean and `runningVar` their **unbiased** variance
 *   $`m_2/(n - 1)`$.
 * - `'per-group'` (instance norm): the running statistics estimate the **average over
 *   statistics groups** (samples) of each group's mean and unbiased variance, as instance
 *   norm's own update does; the spread between groups is not part of them.
 */
export interface BatchMoments {
  /** How the groups' moments become running statistics (see above). */
  readonly kind: 'pooled' | 'per-group';
  /**
   * Per channel (index of `runningMean`), the moments of each statistics group of this
   * batch in that channel: one group for batch norm, one per sample for instance norm.
   */
  readonly groups: readonly (readonly Moments[])[];
  /**
   * Which variance `runningVar` holds: `'unbiased'` (the default when absent; PyTorch's
   * $`m_2/(n - 1)`$) or `'biased'` ($`m_2/n`$, as Keras, TF.js and Flax keep it; batch norm
   * with `unbiasedRunningVar: false`). `recalibrate` writes the population variance the same way.
   */
  readonly runningVariance?: 'unbiased' | 'biased';
}

/** Fresh parameters and state, as {@link BoundNormalizer.init} makes them. */
export interface Initialized<T extends NormalizerTypes> {
  /** Parameters at their initial values. */
  readonly params: TensorMap<T['Params']>;
  /** State at its initial values. */
  readonly state: TensorMap<T['State']>;
}

/**
 * The dtypes a bound normalizer accepts for `dy` and for its parameters and floating state,
 * relative to `x`'s: what {@link NormalizerMethods.dtypes} declares, so that a checker mixes
 * dtypes exactly where the plugin says it accepts them and expects `E_DTYPE` elsewhere.
 *
 * Whatever is accepted, the outputs follow the contract: `y` and `dx` have `x`'s dtype, each
 * gradient has its parameter's dtype, each floating state entry keeps its dtype and counters
 * stay float64.
 *
 * The built-in plugins declare `{ dy: 'either', params: 'same-as-x' }`, the contract's rule.
 */
export interface DtypeSupport {
  /**
   * `'either'`: backward accepts a float32 or a float64 `dy` whatever `x`'s dtype (the
   * contract's rule). `'same-as-x'`: only `x`'s dtype; a `dy` of the other dtype throws
   * `E_DTYPE`.
   */
  readonly dy: 'either' | 'same-as-x';
  /**
   * `'same-as-x'`: parameters and floating state must have `x`'s dtype, and forward and
   * backward throw `E_DTYPE` otherwise (the contract's rule, and PyTorch's). `'either'`: each
   * may have either dtype.
   */
  readonly params: 'same-as-x' | 'either';
}

/**
 * The contract's dtype rule as a {@link DtypeSupport}: `dy` of either dtype, parameters and
 * floating state of `x`'s dtype only. What the built-in plugins declare.
 */
export const CONTRACT_DTYPES: DtypeSupport = Object.freeze({ dy: 'either', params: 'same-as-x' });

/** A batch statistic that a running statistic averages (see {@link MovingAverageUpdate}). */
export type BatchStatistic =
  /** The mean. */
  | 'mean'
  /** The biased variance, $`\tfrac1m\sum (x - \mu)^2`$. */
  | 'variance'
  /** The unbiased variance, $`\tfrac1{m-1}\sum (x - \mu)^2`$ (what PyTorch's running variance averages). */
  | 'unbiased-variance';

/**
 * A declared state update of the first form: the running statistics are an exponential moving
 * average, with `momentum`, of batch statistics of `x`, which a checker computes itself (in
 * float64, two-pass) and compares with the next state a train-mode forward call returns.
 *
 * For each channel $`c`$ (an index of `channelAxis`) and each state entry $`r`$ named in
 * `statistics`, with $`b_c`$ the named statistic of the values of channel $`c`$,
 *
 * $$r_c \leftarrow (1 - f)\,r_c + f\,b_c,\qquad f = \mathrm{momentum}\ \text{or, when it is null, } 1/t ,$$
 *
 * where $`t`$ is the counter's value after the step. Without `averagedAxes` the statistic
 * pools every value of the channel (batch norm); with them, it is computed separately for
 * each index of those axes and the results are averaged (instance norm: `averagedAxes: [0]`,
 * one statistic per sample). The counter, when named, goes up by 1 per train-mode call
 * (`countsSteps`, default true) and is a 0-d float64 tensor. State entries not named keep their
 * values. Eval-mode calls return the state unchanged.
 *
 * @example
 * ```ts
 * // batch norm: running statistics over every axis but the channel axis, PyTorch's rule
 * stateUpdate: () => ({
 *   kind: 'moving-average', channelAxis: 1, momentum: 0.1, counter: 'numBatchesTracked',
 *   statistics: { runningMean: 'mean', runningVar: 'unbiased-variance' },
 * })
 * ```
 */
export interface MovingAverageUpdate {
  /** Discriminant. */
  readonly kind: 'moving-average';
  /** The axis of `x` that indexes the running statistics (negative counts from the end). */
  readonly channelAxis: number;
  /**
   * Axes of `x` (not the channel axis; negative counts from the end) along which the statistic
   * is computed per index and then averaged. Default: none, every other axis is pooled.
   */
  readonly averagedAxes?: readonly number[];
  /** State entry → the batch statistic it averages, e.g. `{ runningMean: 'mean', runningVar: 'unbiased-variance' }`. */
  readonly statistics: Readonly<Record<string, BatchStatistic>>;
  /** The weight $`f`$ of the new batch, in [0, 1]; `null` for the cumulative average $`f = 1/t`$. */
  readonly momentum: number | null;
  /** The name of the 0-d float64 step counter (e.g. `'numBatchesTracked'`), when there is one. */
  readonly counter?: string;
  /** Whether a train-mode call adds 1 to the counter (default true; PyTorch's instance norm keeps the buffer but never counts). */
  readonly countsSteps?: boolean;
}

/**
 * A declared state update of the second form: a reference implementation of the next state,
 * shipped by the plugin, written plainly (float64 loops, no fast paths) so that it can be
 * read against the paper or PyTorch. A checker calls it in float64 at the point it checks
 * and compares the result with the next state the (fast) forward call returns.
 */
export interface ReferenceUpdate {
  /** Discriminant. */
  readonly kind: 'reference';
  /**
   * The next state of a train-mode forward call.
   *
   * @param x - the input, float64
   * @param state - the state before the call (floating entries float64, counters float64)
   * @returns every state entry after the call (float64)
   */
  next(x: Tensor, state: Readonly<Record<string, Tensor>>): Readonly<Record<string, Tensor>>;
}

/**
 * What a train-mode forward call does to the state, in a form a checker tests without knowing
 * the plugin (see {@link NormalizerMethods.stateUpdate}): a {@link MovingAverageUpdate} of batch
 * statistics, or a {@link ReferenceUpdate}. Either way, eval-mode calls return the state
 * unchanged.
 */
export type StateUpdate = MovingAverageUpdate | ReferenceUpdate;

/**
 * The methods of a normalizer bound to one set of resolved options: what a plugin's
 * {@link NormalizerDefinition.bind} returns. Every method closes over the options, so
 * unresolved options can never reach a kernel.
 *
 * - `forward` never mutates `x`, `params` or `state`; the next state comes back as a value,
 *   so a checker can call it thousands of times at perturbed inputs.
 * - `backward` is the vector–Jacobian product of `forward` for every differentiable input
 *   (`dx`) and parameter (`grads`). It never mutates `dy`, `params` or `saved`.
 * - Every tensor argument may be any view ndarray allows: an offset into a larger buffer,
 *   permuted or negative strides. Results do not depend on the layout beyond rounding.
 * - Bad input throws a `NormkitError` before anything is computed.
 *
 * Besides `invariants`, four optional members declare what a checker (`@normkit/gradcheck`)
 * may test without knowing the plugin: {@link NormalizerMethods.largeShapes} (inputs that
 * reach the size-dependent paths), {@link NormalizerMethods.dtypes} (which dtype mixes are
 * accepted), {@link NormalizerMethods.modeIndependent} (eval computes what train computes) and
 * {@link NormalizerMethods.stateUpdate} (the semantics of the next state).
 */
export interface NormalizerMethods<T extends NormalizerTypes> {
  /**
   * The shape of each parameter (absent names have no parameter under these options).
   *
   * @returns parameter name → shape
   */
  paramShapes(): { readonly [P in T['Params']]?: Shape };

  /**
   * The shape of each state entry.
   *
   * @returns state name → shape (`[]` for a 0-d scalar such as a step counter)
   */
  stateShapes(): { readonly [P in T['State']]?: Shape };

  /**
   * Fresh parameters and state.
   *
   * @param dtype - the dtype of parameters and floating state (default `'float32'`)
   * @returns new tensors, shaped as {@link NormalizerMethods.paramShapes} and {@link NormalizerMethods.stateShapes} say
   */
  init(dtype?: Dtype): Initialized<T>;

  /**
   * A few valid input shapes, small enough for a full Jacobian.
   *
   * @returns at least one shape `forward` accepts
   */
  exampleShapes(): readonly Shape[];

  /**
   * Larger valid input shapes that reach the size-dependent and layout-specific paths
   * (unrolled loops with their remainders, the engine's planes, columns, `A > 1` and rows
   * layouts), for a checker's projection mode (`gradcheck --size large`). A few thousand to a
   * few tens of thousands of elements each: large enough to reach every path, small enough
   * that a projection check stays within a second. Optional.
   *
   * @returns shapes `forward` accepts
   */
  largeShapes?(): readonly Shape[];

  /**
   * The dtypes `backward` accepts for `dy`, and forward and backward for the parameters and
   * floating state, relative to `x`'s (see {@link DtypeSupport}). Optional: a checker mixes
   * dtypes only where a plugin declares what it accepts.
   */
  readonly dtypes?: DtypeSupport;

  /**
   * True when `forward` and `backward` do not depend on `mode`: an eval-mode call returns
   * what a train-mode call returns (the same `y`, state and gradients, bitwise). A checker
   * then checks only the modes the plugin lists and verifies the claim on the example
   * inputs; without it, it checks both modes, since `forward` accepts both. Optional.
   */
  readonly modeIndependent?: boolean;

  /**
   * The semantics of the next state of a train-mode forward call on an input of this shape,
   * declared so a checker can test it without knowing the plugin (see {@link StateUpdate}):
   * running statistics as a moving average of batch statistics, or a reference
   * implementation. Eval-mode calls return the state unchanged. Optional.
   *
   * @param xShape - the input's shape
   * @returns the declaration, or `null` when the next state cannot be declared from `x` alone
   *   (no state under these options, or statistics gathered from other participants)
   */
  stateUpdate?(xShape: Shape): StateUpdate | null;

  /**
   * The exact identities the backward pass obeys for this input shape and mode (see
   * {@link Invariant}); none when omitted.
   *
   * @param mode - the mode of the forward call being differentiated
   * @param xShape - the input's shape
   * @returns the identities that hold exactly (may be empty)
   */
  invariants?(mode: Mode, xShape: Shape): readonly Invariant[];

  /**
   * Checks values of a state that are valid tensors but not valid state (a negative running
   * variance, a fractional step counter), so that a state dict is refused when it is loaded.
   * `Layer.loadStateDict` calls it after its own checks, before changing anything.
   *
   * @param state - the complete state that would be adopted
   * @throws NormkitError `E_STATE` naming the entry and what was expected
   */
  validateState?(state: TensorMap<T['State']>): void;

  /**
   * Optional, for normalizers with running statistics (`runningMean`, `runningVar`): the
   * per-channel {@link Moments} of one batch `x`, computed as a train-mode forward call would
   * compute its batch statistics (from the same input and options), without normalizing
   * anything. `recalibrate` (PreciseBN, Wu & Johnson 2021) merges them over K batches into
   * population statistics that replace the exponential moving average. Pure; a
   * distributed normalizer (SyncBatchNorm) makes it a collective call that every worker
   * must make.
   *
   * @param x - one batch, as `forward` would receive it
   * @returns the batch's moments per channel and how they become running statistics
   * @throws NormkitError `E_SHAPE` / `E_DTYPE` for an `x` that `forward` would refuse
   */
  batchMoments?(x: Tensor): BatchMoments;

  /**
   * The forward pass. Pure: `x`, `params` and `state` are not mutated.
   *
   * @param args - `x`, `params`, `state`, `mode`, and optionally a preallocated `out`
   * @returns `y`, the next state and what `backward` needs
   * @throws NormkitError on bad input, before anything is computed: typically `E_DTYPE` /
   *   `E_SHAPE` for `x`, parameters or `out`, `E_STATE` for a missing or extra parameter or
   *   state entry, `E_OPTION` for a bad mode, and plugin-specific `E_DEGENERATE` / `E_NONFINITE`
   */
  forward(args: ForwardArgs<T>): ForwardResult<T>;

  /**
   * The backward pass: vector–Jacobian products of `forward` with `dy`,
   * $`dx = (\partial y / \partial x)^\top dy`$ and $`dp = (\partial y / \partial p)^\top dy`$
   * for every parameter $`p`$.
   *
   * @param args - `dy`, the `params` and the `saved` value of the forward call, and optionally `out`
   * @returns `dx` and the parameter gradients
   * @throws NormkitError on bad input: `E_SHAPE` / `E_DTYPE` for a `dy` that is not a float
   *   tensor of `y`'s shape (or a bad `out`), `E_STATE` for a `saved` value that does not fit
   */
  backward(args: BackwardArgs<T>): BackwardResult<T>;

  /**
   * Optional: the second-order pass, the vector–Jacobian product of `backward` itself.
   * `backward` maps `(x, params, dy)` to `(dx, grads)`; given cotangents `ddx` for `dx` and
   * `dgrads` for `grads`, this returns the gradients of
   * $`S = \langle \mathrm{ddx}, dx\rangle + \sum_p \langle \mathrm{dgrads}_p, \mathrm{grads}_p\rangle`$
   * with respect to `x` (`dx`), `dy` (`ddy`, which is the forward-mode JVP of `y`) and every
   * parameter (`grads`). Hessian–vector products (core's `hessianVectorProduct`) and
   * `@normkit/gradcheck`'s order-2 check use it. Pure, like `backward`.
   *
   * @param args - `dy`, `params` and `saved` of the backward call, `ddx`, optionally `dgrads`
   * @returns ∂S/∂x, ∂S/∂dy and ∂S/∂p, in `x`'s dtype
   * @throws NormkitError as `backward` does, and `E_SHAPE` / `E_DTYPE` / `E_STATE` for a
   *   `ddx` or `dgrads` entry that is not a float tensor of the right shape or name
   */
  doubleBackward?(args: DoubleBackwardArgs<T>): DoubleBackwardResult<T>;

  /**
   * Optional, for a normalizer whose options resolve per dtype (RMS norm's `eps: null` is the
   * machine epsilon of `x`'s dtype, as PyTorch's `eps=None`): the same normalizer bound so
   * that a **float64** call computes the function this one computes on inputs of `dtype`.
   * A checker that compares a float32 call with the float64 call on the same values
   * (`@normkit/gradcheck`'s float32 and mixed-dtype checks) uses it as the float64 side;
   * without it, the normalizer itself, which is right whenever the options mean the same in
   * every dtype.
   *
   * @param dtype - the dtype of the call to be compared
   * @returns a normalizer bound to options that mean, in float64, what these mean in `dtype`
   */
  float64Reference?(dtype: Dtype): BoundNormalizer<T>;
}

/**
 * A normalizer bound to resolved options: what {@link Normalizer.create} returns and what
 * layers, checkers and kernels work with.
 *
 * @example
 * ```ts
 * const bn = batchNorm.create({ numFeatures: 3 });
 * const { params, state } = bn.init('float64');
 * const { y, state: next, saved } = bn.forward({ x, params, state, mode: 'train' });
 * const { dx, grads } = bn.backward({ dy, params, saved });
 * ```
 */
export interface BoundNormalizer<T extends NormalizerTypes = NormalizerTypes> extends NormalizerMethods<T> {
  /** The plugin this was created from. */
  readonly plugin: Normalizer<T>;
  /** The plugin's meta. */
  readonly meta: NormalizerMeta<T['Name']>;
  /** The plugin's modes. */
  readonly modes: readonly Mode[];
  /** The resolved options every method uses. */
  readonly options: T['Options'];
}

/** The names a set of test vectors uses for the contract's input, output and gradients. */
export interface VectorNames {
  /** The contract's `x` (e.g. weight norm's `v`). */
  readonly input: string;
  /** The contract's `y` (e.g. `w`). */
  readonly output: string;
  /** The contract's `dy` (e.g. `dw`). */
  readonly upstream: string;
  /** The contract's `dx` (e.g. `dv`). */
  readonly inputGrad: string;
}

/**
 * Names of the PyTorch side of a normalizer: its `state_dict` keys and the layer name of the
 * PyTorch test vectors it implements, so that conformance runners and state-dict converters
 * need no central table of layers. Each plugin declares its own (in its `pytorch.ts`).
 */
export interface PyTorchNames<T extends NormalizerTypes = NormalizerTypes> {
  /** The `layer` field of the PyTorch test vectors this plugin implements, e.g. `"batch_norm"`. */
  readonly layer: string;
  /** normkit parameter / state name → PyTorch `state_dict` key, e.g. `runningMean → running_mean`. */
  readonly stateDict: { readonly [P in T['Params'] | T['State']]?: string };
  /**
   * When PyTorch names the same entries in more than one way: style name → names (weight
   * norm: `parametrizations` → `parametrizations.weight.original0`, `legacy` → `weight_g`).
   * `stateDict` is the style written by default (it should equal one of these); loading
   * detects the style from the names. Used by `Layer.stateDict` / `Layer.loadStateDict`.
   */
  readonly stateDictStyles?: Readonly<Record<string, { readonly [P in T['Params'] | T['State']]?: string }>>;
  /**
   * PyTorch's shape of an entry, from normkit's, where they differ (a weight-normalized
   * linear layer's `g`: `(out)` in normkit, `(out, 1)` in PyTorch). The data are the same
   * row-major values.
   */
  readonly stateDictShapes?: { readonly [P in T['Params'] | T['State']]?: (shape: Shape) => Shape };
  /**
   * Entries that PyTorch stores as int64 (`num_batches_tracked`) and normkit holds as float64
   * integers: `Layer.integerEntries` lists them, for `@normkit/io`'s `writeSafetensors` option `int64`.
   */
  readonly int64?: readonly (T['Params'] | T['State'])[];
  /**
   * The names the vectors use for the contract's input, output, upstream gradient and input
   * gradient, when they are not `x`, `y`, `dy`, `dx` (weight norm: `v`, `w`, `dw`, `dv`).
   */
  readonly vectors?: VectorNames;
  /**
   * The plugin options for one vector case, from its options (camelCase, as PyTorch's) and
   * the shapes of its inputs.
   *
   * @param caseOptions - the case's `options`
   * @param inputShapes - input name → shape
   * @returns options for {@link Normalizer.create}
   */
  options(caseOptions: Readonly<Record<string, unknown>>, inputShapes: Readonly<Record<string, Shape>>): T['InputOptions'];
}

/**
 * What a plugin author writes (see {@link defineNormalizer}): a plain object with `meta`,
 * the options resolver and a `bind` factory that receives **resolved** options and returns
 * the methods closed over them (as an ESLint rule's `create`, or a Rollup plugin factory).
 */
export interface NormalizerDefinition<T extends NormalizerTypes> {
  /** Name, version, description, formula. */
  readonly meta: NormalizerMeta<T['Name']>;
  /**
   * The modes the plugin distinguishes (`['train']` when it has no eval behaviour of its
   * own). `forward` accepts both modes regardless, so a checker checks both unless the bound
   * normalizer declares {@link NormalizerMethods.modeIndependent}.
   */
  readonly modes: readonly Mode[];
  /** Option sets a checker should exercise by default; the first is the canonical example. */
  readonly exampleOptions: readonly T['InputOptions'][];
  /**
   * Option sets a checker binds for its large shapes ({@link NormalizerMethods.largeShapes});
   * default `exampleOptions`. For plugins whose options fix the input shape (weight norm's
   * `shape`), this is where the large inputs come from.
   */
  readonly largeOptions?: readonly T['InputOptions'][];
  /** PyTorch's names for this normalizer, when it has a PyTorch counterpart. */
  readonly pytorch?: PyTorchNames<T>;
  /** Keras's (and TF.js's) names and config for this normalizer, when it has a Keras counterpart (see {@link importKeras}). */
  readonly keras?: KerasNames<T>;
  /** How its eval forward becomes ONNX nodes, when it can (see {@link OnnxExport}). */
  readonly onnx?: OnnxExport<T>;
  /**
   * Validates user options and fills defaults.
   *
   * @param input - the user's options
   * @returns the resolved options
   * @throws NormkitError `E_OPTION` naming the bad option, what was expected and what came
   */
  resolveOptions(input: T['InputOptions'] | undefined): T['Options'];
  /**
   * The methods for one set of resolved options.
   *
   * @param options - resolved options (from `resolveOptions`)
   * @returns the methods, closed over `options`
   */
  bind(options: T['Options']): NormalizerMethods<T>;
}

/**
 * The plugin contract every normalizer implements: a plain typed object with `meta` and a
 * factory. `create` resolves options and returns a {@link BoundNormalizer}.
 *
 * Write one with {@link defineNormalizer}.
 */
export interface Normalizer<T extends NormalizerTypes = NormalizerTypes> {
  /** Name, version, description, formula. */
  readonly meta: NormalizerMeta<T['Name']>;
  /** The modes the plugin distinguishes. */
  readonly modes: readonly Mode[];
  /** Option sets a checker should exercise by default; the first is the canonical example. */
  readonly exampleOptions: readonly T['InputOptions'][];
  /** Option sets for a checker's large shapes (default `exampleOptions`; see {@link NormalizerDefinition.largeOptions}). */
  readonly largeOptions?: readonly T['InputOptions'][];
  /** PyTorch's names for this normalizer, when it has a PyTorch counterpart. */
  readonly pytorch?: PyTorchNames<T>;
  /** Keras's (and TF.js's) names and config for this normalizer, when it has a Keras counterpart (see {@link importKeras}). */
  readonly keras?: KerasNames<T>;
  /** How its eval forward becomes ONNX nodes, when it can (see {@link OnnxExport}). */
  readonly onnx?: OnnxExport<T>;
  /**
   * Validates user options and fills defaults (what {@link Normalizer.create} does first).
   *
   * @param input - the user's options
   * @returns the resolved options
   * @throws NormkitError `E_OPTION` naming the bad option, what was expected and what came
   */
  resolveOptions(input: T['InputOptions'] | undefined): T['Options'];
  /**
   * The normalizer bound to these options.
   *
   * @param input - the user's options (defaults filled in)
   * @returns the bound normalizer
   * @throws NormkitError `E_OPTION` for bad options
   */
  create(input: T['InputOptions']): BoundNormalizer<T>;
}

/**
 * Builds a plugin from its definition: TypeScript checks the object against the contract
 * with no casts, and the returned plugin's `create` resolves options before binding, so no
 * method ever sees unresolved options. At run time it checks only that `resolveOptions` and
 * `bind` are functions (use {@link assertNormalizer} for the rest). The bound methods check
 * what every plugin would check first: `init` refuses a dtype other than `'float32'` /
 * `'float64'` (`E_OPTION`), and `forward`, `backward` and `doubleBackward` refuse a missing
 * arguments object (`E_STATE`), before the plugin's own code runs.
 *
 * @param definition - meta, modes, example options, the resolver and the `bind` factory
 * @returns the plugin
 * @throws NormkitError `E_PLUGIN` when `resolveOptions` or `bind` is not a function
 * @example
 * ```ts
 * export const meanOnly = defineNormalizer<MeanOnlyTypes>({
 *   meta: { name: 'mean-only', version: '1.0.0', description: '…', formula: 'y = x - \\mu_c + \\beta_c' },
 *   modes: ['train', 'eval'],
 *   exampleOptions: [{ numFeatures: 3 }],
 *   resolveOptions: (input) => ({ numFeatures: input?.numFeatures ?? 1, momentum: input?.momentum ?? 0.1 }),
 *   bind: (options) => ({ paramShapes: () => ({ bias: [options.numFeatures] }), … }),
 * });
 * const bound = meanOnly.create({ numFeatures: 3 });
 * ```
 */
export function defineNormalizer<T extends NormalizerTypes>(definition: NormalizerDefinition<T>): Normalizer<T> {
  const { meta, modes, exampleOptions, largeOptions, pytorch, keras, onnx, resolveOptions, bind } = definition;
  if (typeof bind !== 'function' || typeof resolveOptions !== 'function') {
    const name = typeof meta?.name === 'string' ? meta.name : 'plugin';
    throw new NormkitError(
      'E_PLUGIN',
      `${name}: expected a definition with resolveOptions(input) and bind(options) functions, got ${typeof resolveOptions} and ${typeof bind} (plugins written for the old contract put forward/backward on the object itself)`,
      name,
    );
  }
  const plugin: Normalizer<T> = {
    meta,
    modes,
    exampleOptions,
    ...(largeOptions === undefined ? {} : { largeOptions }),
    ...(pytorch === undefined ? {} : { pytorch }),
    ...(keras === undefined ? {} : { keras }),
    ...(onnx === undefined ? {} : { onnx }),
    resolveOptions,
    create(input) {
      const options = resolveOptions(input);
      const methods = bind(options);
      // The arguments every plugin would otherwise have to check first: a dtype that is one of
      // the two (init), and an arguments object (forward, backward, doubleBackward), so that a
      // bad call gets a NormkitError, not a TypeError from reading a property of null.
      // A method the definition lacks stays absent (TypeScript refuses such a definition), and
      // a method still runs with the bound normalizer as `this`, as it did unwrapped.
      const name = typeof meta?.name === 'string' ? meta.name : 'plugin';
      const { init, forward, backward, doubleBackward } = methods;
      const bound: BoundNormalizer<T> = { ...methods, plugin, meta, modes, options };
      const checked = bound as { -readonly [K in keyof BoundNormalizer<T>]: BoundNormalizer<T>[K] };
      if (typeof init === 'function') checked.init = (dtype?: Dtype) => init.call(bound, checkInitDtype(dtype, name));
      if (typeof forward === 'function') checked.forward = (args) => forward.call(bound, checkArgsObject(args, name, 'forward', '{ x, params, state, mode }'));
      if (typeof backward === 'function') checked.backward = (args) => backward.call(bound, checkArgsObject(args, name, 'backward', '{ dy, params, saved }'));
      if (typeof doubleBackward === 'function') {
        checked.doubleBackward = (args) => doubleBackward.call(bound, checkArgsObject(args, name, 'doubleBackward', '{ dy, params, saved, ddx }'));
      }
      return bound;
    },
  };
  return plugin;
}

/** `dtype` when it is `undefined` (the plugin's default), `'float32'` or `'float64'`. */
function checkInitDtype(dtype: unknown, plugin: string): Dtype | undefined {
  if (dtype === undefined || dtype === 'float32' || dtype === 'float64') return dtype;
  throw new NormkitError('E_OPTION', `${plugin} init dtype: expected 'float32' or 'float64', got ${describeValue(dtype)}`, 'dtype');
}

/** `args` when it is an object (the call's own checks look inside). */
function checkArgsObject<A>(args: A, plugin: string, method: string, expected: string): A {
  if (typeof args === 'object' && args !== null) return args;
  throw new NormkitError('E_STATE', `${plugin} ${method}: expected an arguments object ${expected}, got ${describeValue(args)}`, 'args');
}

/** The type bag of a normalizer (plugin or bound). */
export type TypesOf<N> = N extends Normalizer<infer T> ? T : N extends BoundNormalizer<infer T> ? T : never;

/** The resolved options type of a normalizer. */
export type OptionsOf<N> = TypesOf<N>['Options'];

/** The input options type of a normalizer. */
export type InputOptionsOf<N> = TypesOf<N>['InputOptions'];
