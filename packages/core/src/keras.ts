import { NormkitError, describeValue } from './errors.js';
import { flattenNested } from './nested.js';
import type { NestedNumbers } from './nested.js';
import type { Normalizer, NormalizerTypes } from './normalizer.js';
import type { Dtype, Shape, Tensor } from './tensor.js';
import { arrayTypeOf, elementAt, firstNonFinite, formatShape, isTensor, shapesEqual, sizeOf, tensor, toContiguous } from './tensor.js';

/**
 * A TF.js tensor, as `layer.getWeights()` returns them: anything with a `shape` and a
 * `dataSync()` that gives the values in row-major order.
 */
export interface KerasTensorLike {
  /** The sizes, outermost first. */
  readonly shape: readonly number[];
  /** The values, row-major. */
  dataSync(): ArrayLike<number>;
}

/**
 * One Keras weight: nested number arrays (NumPy's `tolist()` of a `get_weights()` array),
 * a `Float32Array` / `Float64Array` (flat, row-major), a normkit tensor, or a TF.js tensor.
 */
export type KerasWeight = NestedNumbers | Float32Array | Float64Array | Tensor | KerasTensorLike;

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

/** A Keras config, read: one getter per kind of value, Keras's defaults, errors that name the key. */
export interface KerasConfig {
  /** The layer's class name, for messages. */
  readonly className: string;
  /** Whether the config holds the key (in either spelling). */
  has(key: string): boolean;
  /** The raw value of a key (in either spelling), or `undefined`. */
  value(key: string): unknown;
  /**
   * A number, or `fallback` when the key is absent.
   *
   * @throws NormkitError `E_OPTION` for a non-number or a value outside `[min, max]`
   */
  number(key: string, fallback: number, range?: { readonly min?: number; readonly max?: number; readonly above?: number }): number;
  /** A boolean, or `fallback` when the key is absent. @throws NormkitError `E_OPTION` for a non-boolean */
  boolean(key: string, fallback: boolean): boolean;
  /** An axis or list of axes (integers), or `fallback` when absent. @throws NormkitError `E_OPTION` otherwise */
  axes(key: string, fallback: number): number[];
  /**
   * Refuses a key whose value is not its neutral one (`renorm: true`), with a hint.
   *
   * @throws NormkitError `E_OPTION` naming the key, the value and what to use instead
   */
  refuse(key: string, neutral: unknown, hint: string): void;
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
  /** The dtype of parameters and state. */
  readonly dtype: Dtype;
  /**
   * A complete state dict under normkit names: the Keras weights, converted, and every entry
   * Keras has no weight for (`numBatchesTracked`, a filled γ or β) at its initial value.
   */
  readonly stateDict: Record<string, Tensor>;
}

/** `moving_mean` → `movingMean`. */
function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `movingMean` → `moving_mean`: how messages name a key, as Python Keras does. */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Reads a Keras config (snake_case or camelCase keys).
 *
 * @param raw - `get_config()` / `getConfig()`
 * @param className - the layer's class name, for messages
 * @returns the reader
 * @throws NormkitError `E_OPTION` for a non-object, or a key given in both spellings with different values
 */
export function readKerasConfig(raw: unknown, className: string): KerasConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new NormkitError('E_OPTION', `keras ${className} config: expected an object (get_config() / getConfig()), got ${describeValue(raw)}`, 'config');
  }
  const values = new Map<string, unknown>();
  for (const [key, value] of Object.entries(raw)) {
    const camel = camelCase(key);
    if (values.has(camel) && !Object.is(values.get(camel), value)) {
      throw new NormkitError('E_OPTION', `keras ${className} config: ${snakeCase(camel)} is given twice (as ${camel} and ${snakeCase(camel)}) with different values`, `config.${key}`);
    }
    values.set(camel, value);
  }
  const where = (key: string) => `keras ${className} config.${snakeCase(key)}`;
  return {
    className,
    has: (key) => values.has(key),
    value: (key) => values.get(key),
    number(key, fallback, range = {}) {
      const value = values.has(key) ? values.get(key) : fallback;
      const { min = -Infinity, max = Infinity, above } = range;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (above !== undefined && value <= above)) {
        const bounds = above !== undefined ? `> ${above}` : `in [${min}, ${max}]`;
        throw new NormkitError('E_OPTION', `${where(key)}: expected a finite number ${bounds}, got ${describeValue(value)}`, `config.${snakeCase(key)}`);
      }
      return value;
    },
    boolean(key, fallback) {
      const value = values.has(key) ? values.get(key) : fallback;
      if (typeof value !== 'boolean') throw new NormkitError('E_OPTION', `${where(key)}: expected a boolean, got ${describeValue(value)}`, `config.${snakeCase(key)}`);
      return value;
    },
    axes(key, fallback) {
      const value = values.has(key) ? values.get(key) : fallback;
      const list = Array.isArray(value) ? value : [value];
      if (list.length === 0 || !list.every((a) => Number.isInteger(a))) {
        throw new NormkitError('E_OPTION', `${where(key)}: expected an integer or a non-empty list of integers, got ${describeValue(value)}`, `config.${snakeCase(key)}`);
      }
      return list as number[];
    },
    refuse(key, neutral, hint) {
      if (!values.has(key)) return;
      const value = values.get(key);
      if (value === neutral || (value === null && neutral === undefined) || (value === undefined && neutral === null)) return;
      throw new NormkitError('E_OPTION', `${where(key)}: normkit's import supports only ${JSON.stringify(neutral)}, got ${describeValue(value)}; ${hint}`, `config.${snakeCase(key)}`);
    },
  };
}

/**
 * Keras's momentum (the weight of the old running value) as normkit's (the weight of the new
 * batch value): `1 − momentum`, rounded to 15 significant digits so that `0.99` gives `0.01`
 * and not `0.010000000000000009`.
 *
 * @param kerasMomentum - Keras's `momentum`, in [0, 1]
 * @returns normkit's `momentum`
 */
export function momentumFromKeras(kerasMomentum: number): number {
  return Number((1 - kerasMomentum).toPrecision(15));
}

/** The weight's last path part without the `:0` suffix: `model/bn/gamma:0` → `gamma`. */
function weightBaseName(key: string): string {
  const last = key.slice(key.lastIndexOf('/') + 1);
  return last.replace(/:\d+$/, '');
}

function isTensorLike(value: unknown): value is KerasTensorLike {
  return typeof value === 'object' && value !== null && Array.isArray((value as KerasTensorLike).shape) && typeof (value as KerasTensorLike).dataSync === 'function';
}

/**
 * One Keras weight as a new contiguous tensor in `dtype` (a typed array is read flat).
 *
 * @throws NormkitError `E_STATE` naming the weight for a value of no known kind, ragged arrays, or a size that does not match its shape
 */
function weightTensor(value: unknown, name: string, dtype: Dtype): Tensor {
  try {
    if (isTensor(value)) return toContiguous(value, dtype);
    if (value instanceof Float32Array || value instanceof Float64Array) return tensor(arrayTypeOf(dtype).from(value), [value.length]);
    if (isTensorLike(value)) {
      const data = value.dataSync();
      const shape = [...value.shape];
      if (!shape.every((s) => Number.isInteger(s) && s >= 0) || data.length !== sizeOf(shape)) {
        throw new NormkitError('E_STATE', `expected dataSync() to give Π shape = ${sizeOf(shape)} values for shape ${describeValue(value.shape)}, got ${data.length}`);
      }
      return tensor(arrayTypeOf(dtype).from(data), shape);
    }
    if (typeof value === 'number' || Array.isArray(value)) {
      const { shape, flat } = flattenNested(value as NestedNumbers, name);
      return tensor(arrayTypeOf(dtype).from(flat), shape);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // flattenNested's messages already start with the weight's label (`weights[0] (beta)[1]: …`).
    throw new NormkitError('E_STATE', `keras ${message.startsWith(name) ? message : `${name}: ${message}`}`, name);
  }
  throw new NormkitError(
    'E_STATE',
    `keras ${name}: expected nested number arrays, a Float32Array / Float64Array, a tensor or a TF.js tensor, got ${describeValue(value)}`,
    name,
  );
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
 *   for weights of the wrong number, names or shapes; `E_NONFINITE` for NaN or ±Infinity in a weight
 * @example
 * ```ts
 * // Python: json.dump({'config': bn.get_config(), 'weights': [w.tolist() for w in bn.get_weights()]}, f)
 * const { options, dtype, stateDict } = importKeras(batchNorm, JSON.parse(text));
 * ```
 */
export function importKeras<T extends NormalizerTypes>(plugin: Normalizer<T>, layer: KerasLayer, options: KerasImportOptions<T['InputOptions']> = {}): KerasImport<T> {
  const keras = plugin.keras;
  if (keras === undefined) {
    throw new NormkitError('E_OPTION', `importKeras: ${plugin.meta.name} declares no Keras names (its definition has no keras member)`, 'plugin');
  }
  if (typeof layer !== 'object' || layer === null) {
    throw new NormkitError('E_OPTION', `keras layer: expected { config, weights }, got ${describeValue(layer)}`, 'layer');
  }
  if (typeof options !== 'object' || options === null) {
    throw new NormkitError('E_OPTION', `keras import options: expected an object { dtype?, overrides?, fillMissingAffine? }, got ${describeValue(options)}`, 'options');
  }
  const className = keras.className;
  if (layer.className !== undefined && layer.className !== className) {
    throw new NormkitError('E_OPTION', `keras layer.className: ${plugin.meta.name} imports ${className}, got ${describeValue(layer.className)}`, 'layer.className');
  }
  const config = readKerasConfig(layer.config ?? {}, className);
  const fillMissingAffine = options.fillMissingAffine ?? false;
  if (typeof fillMissingAffine !== 'boolean') {
    throw new NormkitError('E_OPTION', `keras import options.fillMissingAffine: expected a boolean, got ${describeValue(fillMissingAffine)}`, 'options.fillMissingAffine');
  }
  const overrides: unknown = options.overrides ?? {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new NormkitError('E_OPTION', `keras import options.overrides: expected an object of normkit options, got ${describeValue(overrides)}`, 'options.overrides');
  }
  const inputShape = layer.inputShape;
  if (inputShape !== undefined && (!Array.isArray(inputShape) || !inputShape.every((s) => s === null || (Number.isInteger(s) && s >= 0)))) {
    throw new NormkitError('E_OPTION', `keras layer.inputShape: expected a list of sizes or nulls (build_config.input_shape), got ${describeValue(inputShape)}`, 'layer.inputShape');
  }
  const dtype = importDtype(options.dtype, config);
  const names = keras.weights(config);
  const given = orderedWeights(layer.weights, names, className, config);

  // Shapes first (the options may need them), then the options, then each weight against the layer's own shape.
  const shapes = new Map<string, Shape>();
  const raw = new Map<string, Tensor>();
  const labels = names.map(({ keras: name }, i) => (Array.isArray(layer.weights) ? `weights[${i}] (${name})` : `weights.${name}`));
  for (const [i, { keras: name }] of names.entries()) {
    const label = labels[i];
    const t = weightTensor(given[i], label, dtype);
    raw.set(name, t);
    shapes.set(name, t.shape);
  }
  const mapped = keras.options({ config, shapes, inputShape, fillMissingAffine });
  const resolved = { ...(mapped as object), ...(overrides as object) } as T['InputOptions'];
  let fresh: ReturnType<ReturnType<Normalizer<T>['create']>['init']>;
  try {
    fresh = plugin.create(resolved).init(dtype);
  } catch (e) {
    if (!(e instanceof NormkitError)) throw e;
    throw new NormkitError(e.code, `keras ${className}: the config gives normkit options ${JSON.stringify(resolved)}, which ${plugin.meta.name} refuses: ${e.message}`, e.argument);
  }
  const initial: Record<string, Tensor | undefined> = { ...(fresh.params as Record<string, Tensor | undefined>), ...(fresh.state as Record<string, Tensor | undefined>) };
  const stateDict: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(initial)) if (t !== undefined) stateDict[name] = t;
  for (const [i, { keras: name, entry }] of names.entries()) {
    const label = labels[i];
    const target = initial[entry as string];
    if (target === undefined) {
      throw new NormkitError('E_OPTION', `keras ${className}: the options ${JSON.stringify(resolved)} give no ${String(entry)} for ${name}; check options.overrides`, 'options.overrides');
    }
    let t = raw.get(name) as Tensor;
    if (!shapesEqual(t.shape, target.shape)) {
      // A flat list or typed array holds a multi-axis γ in row-major order: read it in the layer's shape.
      if (sizeOf(t.shape) !== sizeOf(target.shape) || t.shape.length !== 1) {
        throw new NormkitError('E_STATE', `keras ${label}: expected shape ${formatShape(target.shape)} (normkit ${String(entry)}), got ${formatShape(t.shape)}`, label);
      }
      t = tensor(t.data as Float32Array | Float64Array, target.shape);
    }
    const bad = firstNonFinite(t);
    if (bad !== null) {
      throw new NormkitError('E_NONFINITE', `keras ${label}: expected finite values, got ${elementAt(t, bad)} at [${bad.join(', ')}]`, label);
    }
    stateDict[entry as string] = t;
  }
  return { options: resolved, dtype, stateDict };
}

/** The weights in `names`' order, from a `get_weights()` list or a record keyed by (path) name. */
function orderedWeights(weights: unknown, names: readonly KerasWeightName[], className: string, config: KerasConfig): unknown[] {
  const expected = names.map((n) => n.keras);
  const flags = ['center', 'scale'].filter((k) => config.has(k)).map((k) => `${k}=${String(config.value(k))}`);
  const why = `get_weights() order${flags.length > 0 ? ` for ${flags.join(', ')}` : ''}`;
  if (Array.isArray(weights)) {
    if (weights.length !== expected.length) {
      throw new NormkitError('E_STATE', `keras ${className} weights: expected ${expected.length} arrays (${expected.join(', ')}: ${why}), got ${weights.length}`, 'weights');
    }
    return weights;
  }
  if (typeof weights !== 'object' || weights === null || isTensor(weights)) {
    throw new NormkitError('E_STATE', `keras ${className} weights: expected the get_weights() list or an object keyed by weight name, got ${describeValue(weights)}`, 'weights');
  }
  const byName = new Map<string, unknown>();
  for (const [key, value] of Object.entries(weights)) {
    const base = weightBaseName(key);
    if (!expected.includes(base)) {
      throw new NormkitError('E_STATE', `keras ${className} weights: unexpected weight ${JSON.stringify(key)}; expected ${expected.join(', ')} (${why})`, key);
    }
    if (byName.has(base)) throw new NormkitError('E_STATE', `keras ${className} weights: ${base} is given twice`, key);
    byName.set(base, value);
  }
  const missing = expected.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new NormkitError('E_STATE', `keras ${className} weights: missing ${missing.join(', ')} (${why})`, missing[0]);
  }
  return expected.map((n) => byName.get(n));
}

/**
 * Keras's `center` / `scale` as normkit's single `affine` switch.
 *
 * @param context - the import context (its `fillMissingAffine`)
 * @returns `true` when either is on (a missing one is filled), `false` when both are off
 * @throws NormkitError `E_OPTION` when they differ and `fillMissingAffine` is off
 */
export function kerasAffine(context: KerasContext): boolean {
  const { config } = context;
  const center = config.boolean('center', true);
  const scale = config.boolean('scale', true);
  if (center !== scale && !context.fillMissingAffine) {
    throw new NormkitError(
      'E_OPTION',
      `keras ${config.className} config: center=${center}, scale=${scale} (${center ? 'β without γ' : 'γ without β'}) has no normkit option; ` +
        `pass { fillMissingAffine: true } to create the missing ${center ? 'γ at 1' : 'β at 0'} (exact for inference; normkit trains it)`,
      center ? 'config.scale' : 'config.center',
    );
  }
  return center || scale;
}

/**
 * A Keras axis list resolved to non-negative axes, when the rank is known, or left negative.
 *
 * @param axes - the config's axes
 * @param rank - the input's rank, when known
 * @param className - for messages
 * @returns the axes, each `< rank` (non-negative) when `rank` is known
 * @throws NormkitError `E_OPTION` for a non-negative axis without a rank, or an axis outside the rank
 */
export function kerasAxes(axes: readonly number[], rank: number | undefined, className: string): number[] {
  return axes.map((axis) => {
    if (rank === undefined) {
      if (axis >= 0) {
        throw new NormkitError(
          'E_OPTION',
          `keras ${className} config.axis: ${axis} counts from the batch axis, and normkit needs the input's rank to place it; pass layer.inputShape (build_config.input_shape)`,
          'config.axis',
        );
      }
      return axis;
    }
    if (axis < -rank || axis >= rank) {
      throw new NormkitError('E_OPTION', `keras ${className} config.axis: expected an axis in [${-rank}, ${rank - 1}] for input rank ${rank}, got ${axis}`, 'config.axis');
    }
    return axis < 0 ? axis + rank : axis;
  });
}

/**
 * The one shape all the weights that came share (a normalization layer's γ, β and statistics
 * all have the parameter shape), or `null` when none came.
 *
 * @param context - the import context (its `shapes`)
 * @returns the common shape, or `null`
 * @throws NormkitError `E_STATE` listing every weight's shape when they differ
 */
export function kerasCommonShape(context: KerasContext): Shape | null {
  const shapes = [...context.shapes];
  if (shapes.length === 0) return null;
  const [, first] = shapes[0];
  if (shapes.some(([, shape]) => !shapesEqual(shape, first))) {
    throw new NormkitError(
      'E_STATE',
      `keras ${context.config.className} weights: expected one shape for all, got ${shapes.map(([name, shape]) => `${name} ${formatShape(shape)}`).join(', ')}`,
      'weights',
    );
  }
  return first;
}

/**
 * The affine weights of a Keras normalization layer, in `get_weights()` order: `gamma` (γ,
 * normkit's `weight`) when `scale`, then `beta` (β, `bias`) when `center` (both default on).
 *
 * @param config - the config, read
 * @returns the weights present
 */
export function kerasAffineWeights(config: KerasConfig): { readonly keras: 'gamma' | 'beta'; readonly entry: 'weight' | 'bias' }[] {
  const affine: { readonly keras: 'gamma' | 'beta'; readonly entry: 'weight' | 'bias' }[] = [];
  if (config.boolean('scale', true)) affine.push({ keras: 'gamma', entry: 'weight' });
  if (config.boolean('center', true)) affine.push({ keras: 'beta', entry: 'bias' });
  return affine;
}
