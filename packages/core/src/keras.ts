import { NormkitError, describeValue } from './errors.js';
import type { KerasConfig } from './keras-config.js';
import { readKerasConfig } from './keras-config.js';
import type { KerasWeight } from './keras-weights.js';
import { kerasWeightTensor, orderedKerasWeights } from './keras-weights.js';
import type { Layer, LayerInit } from './layer.js';
import type { Normalizer, NormalizerTypes } from './normalizer.js';
import type { Dtype, Shape, Tensor } from './tensor.js';
import { elementAt, firstNonFinite, formatShape, shapesEqual, sizeOf, tensor, toContiguous } from './tensor.js';

/**
 * A trained Keras or TF.js normalization layer, as its own API gives it out: what
 * {@link importKeras} (and each package's `…FromKeras`) reads.
 */
export interface KerasLayer {
  /** The layer's class name (`layer.__class__.__name__`, TF.js `layer.getClassName()`); checked when given. */
  readonly className?: string;
  /**
   * The layer's configuration: Python Keras's `layer.get_config()` (snake_case keys) or TF.js's
   * `layer.getConfig()` (camelCase keys); both spellings are read. Keys left out take Keras's
   * defaults (`epsilon: 1e-3`, `momentum: 0.99`, `axis: -1`, …). Default `{}`.
   */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * The weights: the list `layer.get_weights()` / `layer.getWeights()` returns, in its order,
   * or an object keyed by weight name (`gamma`, `moving_mean`; a path such as
   * `batch_normalization/gamma:0` is read by its last part, without the `:0`).
   */
  readonly weights: readonly KerasWeight[] | Readonly<Record<string, KerasWeight>>;
  /**
   * The input shape the layer was built for, batch axis included (`null` for unknown sizes), as
   * a `.keras` file's `build_config.input_shape`. Needed only where the config uses a
   * non-negative `axis` that normkit counts from the end, or where no weight gives a size.
   */
  readonly inputShape?: readonly (number | null)[];
}

/** The keys of a {@link KerasLayer}; any other is refused, so that a typo (`input_shape`) is not ignored. */
const LAYER_KEYS: readonly string[] = ['className', 'config', 'weights', 'inputShape'];

/** The keys of {@link KerasImportOptions}. */
const OPTION_KEYS: readonly string[] = ['dtype', 'overrides', 'fillMissingAffine'];

/** Options of {@link importKeras} and of each package's `…FromKeras`. */
export interface KerasImportOptions<O = Record<string, unknown>> {
  /**
   * dtype of the layer's parameters and state. Default: the config's `dtype` when it is
   * `'float64'` (or a policy of that name), else `'float32'`. The weights are converted to it.
   */
  readonly dtype?: Dtype;
  /** normkit options that replace the ones read from the config, e.g. `{ unbiasedRunningVar: true }` for tf.keras 2. */
  readonly overrides?: Partial<O>;
  /**
   * Accept a config with `center` and `scale` different (β without γ, or γ without β), which
   * normkit has no option for: the missing parameter is created at its identity value (γ = 1,
   * β = 0), so inference is exact. normkit trains it like the other one; keep its gradient at
   * zero to keep it fixed. Default `false`: such a config is refused with `E_OPTION`.
   */
  readonly fillMissingAffine?: boolean;
}

/** What a plugin's {@link KerasNames.options} receives. */
export interface KerasContext {
  /** The config, read. */
  readonly config: KerasConfig;
  /** Keras weight name → its shape, for every weight that came. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** The input shape the layer was built for, when given. */
  readonly inputShape: readonly (number | null)[] | undefined;
  /** {@link KerasImportOptions.fillMissingAffine}. */
  readonly fillMissingAffine: boolean;
}

/** One Keras weight and the normkit entry it becomes. */
export interface KerasWeightName<T extends NormalizerTypes = NormalizerTypes> {
  /** Keras's name of the weight (`gamma`, `moving_variance`). */
  readonly keras: string;
  /** normkit's parameter or state entry (`weight`, `runningVar`). */
  readonly entry: T['Params'] | T['State'];
}

/**
 * The Keras side of a normalizer: its class name, its weights for a config (in
 * `get_weights()` order) and how its config becomes normkit options. A plugin declares it
 * as `keras` beside `pytorch`; {@link importKeras} needs no table of layers.
 */
export interface KerasNames<T extends NormalizerTypes = NormalizerTypes> {
  /** Keras's (and TF.js's) class name, e.g. `'BatchNormalization'`. */
  readonly className: string;
  /**
   * Refuses, before the weights are read, a config normkit cannot reproduce (`renorm: true`):
   * such a layer has other weights, and the refusal says why better than a weight count would.
   *
   * @param config - the config, read
   * @throws NormkitError `E_OPTION` naming the key and what to use instead
   */
  refuse?(config: KerasConfig): void;
  /**
   * The weights a layer with this config has, in `get_weights()` order.
   *
   * @param config - the config, read
   */
  weights(config: KerasConfig): readonly KerasWeightName<T>[];
  /**
   * The normkit options equivalent to the config.
   *
   * @param context - the config, the weights' shapes, the input shape
   * @throws NormkitError `E_OPTION` for a config normkit cannot reproduce, saying why
   */
  options(context: KerasContext): T['InputOptions'];
}

/** What {@link importKeras} returns: enough to build the layer. */
export interface KerasImport<T extends NormalizerTypes = NormalizerTypes> {
  /** The normkit options (overrides applied). */
  readonly options: T['InputOptions'];
  /**
   * The config says `trainable: false`. Keras (2 and 3) runs a frozen layer in inference mode,
   * in `fit` too (batch norm uses its moving statistics and does not update them):
   * {@link layerFromKeras} returns such a layer in eval mode. TF.js does not: its frozen batch
   * norm still trains on batch statistics, so call `train()` on the layer to match it.
   */
  readonly frozen: boolean;
  /** The dtype of parameters and state. */
  readonly dtype: Dtype;
  /**
   * A complete state dict under normkit names: the Keras weights, converted, and every entry
   * Keras has no weight for (`numBatchesTracked`, a filled γ or β) at its initial value.
   */
  readonly stateDict: Record<string, Tensor>;
}

/** The dtype: the option, else the config's `dtype` (a string or a `DTypePolicy`'s name) when float64, else float32. */
function importDtype(option: Dtype | undefined, config: KerasConfig): Dtype {
  if (option !== undefined) {
    if (option !== 'float32' && option !== 'float64') {
      throw new NormkitError('E_OPTION', `keras import options.dtype: expected 'float32' or 'float64', got ${describeValue(option)}`, 'options.dtype');
    }
    return option;
  }
  const given = config.value('dtype');
  const policy = typeof given === 'object' && given !== null ? (given as { config?: { name?: unknown } }).config?.name : given;
  return policy === 'float64' ? 'float64' : 'float32';
}

/**
 * Reads a trained Keras / TF.js normalization layer for a normkit plugin that declares its
 * Keras names ({@link KerasNames}): the options its config means, and its weights as a
 * normkit state dict. Each package wraps it as `batchNormFromKeras`, `layerNormFromKeras`, …,
 * which return a ready layer.
 *
 * Inference is reproduced exactly: the weights are copied unchanged (`moving_variance` too:
 * eval uses the stored value, whatever estimator made it). Options follow Keras's meaning:
 * `epsilon` → `eps` (default 1e-3), `momentum` m → `1 − m`, the channel axis as Keras counts it.
 *
 * @param plugin - the normkit plugin (its `keras` names)
 * @param layer - the Keras layer's class name, config, weights and input shape
 * @param options - `dtype`, `overrides`, `fillMissingAffine`
 * @returns the options, the dtype and the state dict, for `new Layer(plugin, options, { dtype }).loadStateDict(stateDict)`
 * @throws NormkitError `E_OPTION` for a plugin without Keras names, a class name that is not
 *   the plugin's, a config normkit cannot reproduce (saying why) or bad options; `E_STATE`
 *   for weights of the wrong number, names or shapes, or values the plugin refuses (a negative
 *   `moving_variance`); `E_NONFINITE` for NaN or ±Infinity in a weight, or a value the dtype
 *   cannot hold
 * @example
 * ```ts
 * // Python: json.dump({'config': bn.get_config(), 'weights': [w.tolist() for w in bn.get_weights()]}, f)
 * const { options, dtype, stateDict } = importKeras(batchNorm, JSON.parse(text));
 * ```
 */
export function importKeras<T extends NormalizerTypes>(plugin: Normalizer<T>, layer: KerasLayer, options: KerasImportOptions<T['InputOptions']> = {}): KerasImport<T> {
  if (typeof plugin !== 'object' || plugin === null || typeof (plugin as Partial<Normalizer>).meta?.name !== 'string') {
    throw new NormkitError('E_OPTION', `importKeras plugin: expected a normkit plugin (batchNorm, layerNorm, …), got ${describeValue(plugin)}`, 'plugin');
  }
  const keras = plugin.keras;
  if (keras === undefined) {
    throw new NormkitError('E_OPTION', `importKeras: ${plugin.meta.name} declares no Keras names (its definition has no keras member)`, 'plugin');
  }
  const className = keras.className;
  checkKeys(layer, LAYER_KEYS, `keras ${className} layer`, 'layer', '{ config, weights, className?, inputShape? }');
  checkKeys(options, OPTION_KEYS, 'keras import options', 'options', '{ dtype?, overrides?, fillMissingAffine? }');
  if (layer.className !== undefined && layer.className !== className) {
    throw new NormkitError('E_OPTION', `keras layer.className: ${plugin.meta.name} imports ${className}, got ${describeValue(layer.className)}`, 'layer.className');
  }
  const config = readKerasConfig(layer.config ?? {}, className);
  const fillMissingAffine = options.fillMissingAffine ?? false;
  if (typeof fillMissingAffine !== 'boolean') {
    throw new NormkitError('E_OPTION', `keras import options.fillMissingAffine: expected a boolean, got ${describeValue(fillMissingAffine)}`, 'options.fillMissingAffine');
  }
  const overrides = definedOverrides(options.overrides);
  const inputShape = layer.inputShape;
  if (inputShape !== undefined && (!Array.isArray(inputShape) || !inputShape.every((s) => s === null || (Number.isInteger(s) && s >= 0)))) {
    throw new NormkitError('E_OPTION', `keras layer.inputShape: expected a list of sizes or nulls (build_config.input_shape), got ${describeValue(inputShape)}`, 'layer.inputShape');
  }
  const frozen = !config.boolean('trainable', true);
  const dtype = importDtype(options.dtype, config);
  keras.refuse?.(config);
  const names = keras.weights(config);
  const flags = ['center', 'scale'].filter((k) => config.has(k)).map((k) => `${k}=${String(config.value(k))}`);
  const why = `get_weights() order${flags.length > 0 ? ` for ${flags.join(', ')}` : ''}`;
  const { values, labels } = orderedKerasWeights(layer.weights, names.map((n) => n.keras), className, why);

  // Shapes first (the options may need them), then the options, then each weight against the layer's own shape.
  const shapes = new Map<string, Shape>();
  const raw = names.map(({ keras: name }, i) => {
    const t = kerasWeightTensor(values[i], labels[i]);
    shapes.set(name, t.shape);
    return t;
  });
  const mapped = keras.options({ config, shapes, inputShape, fillMissingAffine });
  const resolved = { ...(mapped as object), ...overrides } as T['InputOptions'];
  let bound: ReturnType<Normalizer<T>['create']>;
  let fresh: ReturnType<ReturnType<Normalizer<T>['create']>['init']>;
  try {
    bound = plugin.create(resolved);
    fresh = bound.init(dtype);
  } catch (e) {
    if (!(e instanceof NormkitError)) throw e;
    throw new NormkitError(e.code, `keras ${className}: the config gives normkit options ${JSON.stringify(resolved)}, which ${plugin.meta.name} refuses: ${e.message}`, e.argument);
  }
  const initial: Record<string, Tensor | undefined> = { ...(fresh.params as Record<string, Tensor | undefined>), ...(fresh.state as Record<string, Tensor | undefined>) };
  const stateDict: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(initial)) if (t !== undefined) stateDict[name] = t;
  const labelOf = new Map<string, string>();
  for (const [i, { keras: name, entry }] of names.entries()) {
    const label = labels[i];
    labelOf.set(`state.${String(entry)}`, label);
    const target = initial[entry as string];
    if (target === undefined) {
      throw new NormkitError('E_OPTION', `keras ${className}: the options ${JSON.stringify(resolved)} give no ${String(entry)} for ${name}; check options.overrides`, 'options.overrides');
    }
    stateDict[entry as string] = entryTensor(raw[i], target, dtype, `keras ${label}`, String(entry), label);
  }
  // The plugin's own value checks (a negative moving_variance), named by the Keras weight.
  const state = Object.fromEntries(Object.keys(fresh.state as object).map((name) => [name, stateDict[name]]));
  try {
    bound.validateState?.(state as never);
  } catch (e) {
    if (!(e instanceof NormkitError)) throw e;
    const label = e.argument === undefined ? undefined : labelOf.get(e.argument);
    throw label === undefined ? e : new NormkitError(e.code, `keras ${label}: ${e.message}`, label);
  }
  return { options: resolved, dtype, stateDict, frozen };
}

/**
 * A weight in its normkit entry's shape and dtype, checked: a flat list for a multi-axis γ is
 * read in the layer's shape, NaN and ±Infinity are refused, and so is a value the dtype cannot hold.
 */
function entryTensor(source: Tensor, target: Tensor, dtype: Dtype, where: string, entry: string, label: string): Tensor {
  let t = source;
  if (!shapesEqual(t.shape, target.shape)) {
    if (sizeOf(t.shape) !== sizeOf(target.shape) || t.shape.length !== 1) {
      throw new NormkitError('E_STATE', `${where}: expected shape ${formatShape(target.shape)} (normkit ${entry}), got ${formatShape(t.shape)}`, label);
    }
    t = tensor(t.data as Float64Array, target.shape);
  }
  const bad = firstNonFinite(t);
  if (bad !== null) {
    throw new NormkitError('E_NONFINITE', `${where}: expected finite values, got ${elementAt(t, bad)} at [${bad.join(', ')}]`, label);
  }
  if (dtype === 'float64') return t;
  const converted = toContiguous(t, 'float32');
  const overflow = firstNonFinite(converted);
  if (overflow !== null) {
    throw new NormkitError(
      'E_NONFINITE',
      `${where}: ${elementAt(t, overflow)} at [${overflow.join(', ')}] is more than float32 holds; import with { dtype: 'float64' }`,
      label,
    );
  }
  return converted;
}

/** The overrides as given, without the keys whose value is `undefined` (`{ eps: opts.eps }` with no `opts.eps` overrides nothing). */
function definedOverrides(overrides: unknown): Record<string, unknown> {
  if (overrides === undefined) return {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new NormkitError('E_OPTION', `keras import options.overrides: expected an object of normkit options, got ${describeValue(overrides)}`, 'options.overrides');
  }
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
}

/** Refuses a non-object, or a key not in `known` (named, with the keys expected). */
function checkKeys(value: unknown, known: readonly string[], what: string, argument: string, expected: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NormkitError('E_OPTION', `${what}: expected an object ${expected}, got ${describeValue(value)}`, argument);
  }
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    const hint = unknown.some((key) => key === 'input_shape' || key === 'build_config') ? ' (the input shape goes in inputShape)' : '';
    throw new NormkitError('E_OPTION', `${what}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}${hint}; expected ${expected}`, `${argument}.${unknown[0]}`);
  }
}

/**
 * A layer built from a trained Keras / TF.js layer with {@link importKeras}: `make` constructs it
 * from the options and dtype, the weights are loaded, and a frozen layer (`trainable: false`)
 * comes back in eval mode, as Keras runs it. What each package's `…FromKeras` calls.
 *
 * @param plugin - the normkit plugin (its `keras` names)
 * @param make - the layer's constructor, e.g. `(options, init) => new BatchNorm(options, init)`
 * @param layer - the Keras layer's config, weights, class name and input shape
 * @param options - `dtype`, `overrides`, `fillMissingAffine`
 * @returns the layer, in train mode unless the Keras layer was frozen
 * @throws NormkitError as {@link importKeras}
 */
export function layerFromKeras<T extends NormalizerTypes, L extends Layer<T>>(
  plugin: Normalizer<T>,
  make: (options: T['InputOptions'], init: LayerInit) => L,
  layer: KerasLayer,
  options: KerasImportOptions<T['InputOptions']> = {},
): L {
  const imported = importKeras(plugin, layer, options);
  const built = make(imported.options, { dtype: imported.dtype });
  built.loadStateDict(imported.stateDict);
  return imported.frozen ? built.eval() : built;
}
