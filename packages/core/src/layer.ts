import { NormkitError, describeValue } from './errors.js';
import type { BoundNormalizer, Mode, Normalizer, NormalizerTypes, TensorMap } from './normalizer.js';
import type { Dtype, Tensor } from './tensor.js';
import { assertTensor, clone, copyInto, elementAt, dtypeOf, firstNonFinite, formatShape, isContiguous, isTensor, shapesEqual, sizeOf, tensor, toContiguous, toDtype, unravel, zeros } from './tensor.js';
import type { StateDictNaming } from './state-dict-names.js';
import { namingHint, resolveNaming, resolvePrefix } from './state-dict-names.js';

/** Options of the {@link Layer} constructor beyond the plugin's own. */
export interface LayerInit {
  /** dtype of parameters and state (default `'float32'`, as PyTorch and TF.js). */
  readonly dtype?: Dtype;
}

/** A state dict: parameter and state names → tensors. */
export type StateDict = Readonly<Record<string, Tensor>>;

/** Options of {@link Layer.backward}. */
export interface LayerBackwardOptions {
  /** A preallocated `dx` (row-major, `x`'s shape and dtype). */
  readonly out?: Tensor;
  /**
   * Keep the last forward call's saved values so that `backward` may be called on it again
   * (PyTorch's `retain_graph=True`). Default false: a second `backward` on the same forward
   * throws `E_STATE` instead of silently adding the parameter gradients twice.
   */
  readonly retainSaved?: boolean;
}

/** Options of {@link Layer.stateDict}: how the entries are named. */
export type StateDictOptions = StateDictNaming;

/** Options of {@link Layer.loadStateDict}: how the entries are named, and whether all must be there. */
export interface LoadStateDictOptions extends StateDictNaming {
  /**
   * Require every entry to be present and every key (under the prefix) to be one of the
   * layer's (default true), or, as PyTorch's `strict=False`, load what matches: missing
   * entries keep their values and unknown keys are skipped. Both are listed in the result
   * ({@link IncompatibleKeys}); check it, since a wrong `names` or `prefix` then loads nothing
   * without an error, as in PyTorch.
   */
  readonly strict?: boolean;
}

/** What {@link Layer.loadStateDict} did not use or did not find, as PyTorch's `_IncompatibleKeys`. */
export interface IncompatibleKeys {
  /** The layer's keys (under the naming asked for) that the dict does not hold; empty when `strict`. */
  readonly missingKeys: readonly string[];
  /** The dict's keys under the prefix that name none of the layer's entries; empty when `strict`. */
  readonly unexpectedKeys: readonly string[];
}

/**
 * The stateful wrapper around a pure {@link Normalizer}, for training loops: it holds
 * the options, parameters, state and accumulated gradients, and a train/eval switch
 * (a new layer is in train mode, as in PyTorch).
 *
 * Every method validates before it writes: a call that throws leaves parameters,
 * state and gradients exactly as they were.
 *
 * @example
 * ```ts
 * const layer = new Layer(batchNorm, { numFeatures: 3 });
 * const y = layer.forward(x);          // train mode: batch statistics, running stats updated
 * const dx = layer.backward(dy);       // gradients accumulate into layer.grads
 * layer.eval();                        // running statistics from now on
 * ```
 */
export class Layer<T extends NormalizerTypes = NormalizerTypes> {
  /** The plugin this layer runs. */
  readonly plugin: Normalizer<T>;
  /** The plugin bound to this layer's options: what forward and backward call. */
  readonly normalizer: BoundNormalizer<T>;
  /** The resolved options. */
  readonly options: T['Options'];
  #dtype: Dtype;
  /** The parameters (replaced, never mutated, by {@link Layer.loadStateDict}). */
  params: TensorMap<T['Params']>;
  /** The state, e.g. running statistics (replaced after each train-mode forward). */
  state: TensorMap<T['State']>;
  /** Accumulated parameter gradients, shaped like the parameters; zero at first. */
  readonly grads: TensorMap<T['Params']>;
  #mode: Mode = 'train';
  #saved: T['Saved'] | null = null;
  /** Why there are no saved values: no forward yet, a backward without `retainSaved` used them, or `to` released them. */
  #savedReleasedBy: 'none' | 'backward' | 'to' = 'none';
  /** The parameters the last forward call used: backward differentiates that call. */
  #savedParams: TensorMap<T['Params']> | null = null;

  /**
   * @param plugin - the normalizer
   * @param options - its options (validated by `plugin.resolveOptions`)
   * @param init - dtype of parameters and state
   * @throws NormkitError `E_OPTION` for bad options (from `plugin.resolveOptions`), an `init`
   *   that is not an object with at most the key `dtype`, or an `init.dtype` other than
   *   `'float32'` / `'float64'`
   */
  constructor(plugin: Normalizer<T>, options: T['InputOptions'], init: LayerInit = {}) {
    this.plugin = plugin;
    this.normalizer = plugin.create(options);
    this.options = this.normalizer.options;
    if (typeof init !== 'object' || init === null || Array.isArray(init)) {
      const given: unknown = init;
      const hint = given === 'float32' || given === 'float64' ? ` (write { dtype: '${given}' })` : '';
      throw new NormkitError('E_OPTION', `Layer init: expected an object { dtype }, got ${describeValue(init)}${hint}`, 'init');
    }
    const unknown = Object.keys(init).filter((key) => key !== 'dtype');
    if (unknown.length > 0) {
      throw new NormkitError('E_OPTION', `Layer init: expected only the key dtype, got ${unknown.map((key) => JSON.stringify(key)).join(', ')}`, 'init');
    }
    const dtype = init.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new NormkitError('E_OPTION', `Layer init.dtype: expected 'float32' or 'float64', got ${describeValue(dtype)}`, 'init.dtype');
    }
    this.#dtype = dtype;
    const fresh = this.normalizer.init(dtype);
    this.params = fresh.params;
    this.state = fresh.state;
    const grads: Record<string, Tensor> = {};
    for (const [name, p] of entries(this.params)) grads[name] = zeros(p.shape, dtypeOf(p));
    this.grads = grads as TensorMap<T['Params']>;
  }

  /**
   * The dtype of the parameters, the floating state and the gradients (counters such as
   * `numBatchesTracked` are float64 always). Change it with {@link Layer.to}.
   */
  get dtype(): Dtype {
    return this.#dtype;
  }

  /** The current mode. */
  get mode(): Mode {
    return this.#mode;
  }

  /** Is the layer in train mode? */
  get training(): boolean {
    return this.#mode === 'train';
  }

  /**
   * Switches to train mode (batch statistics; running statistics are updated), or with
   * `false` to eval mode, as PyTorch's `module.train(mode=True)`.
   *
   * @param mode - `true` (default) for train mode, `false` for eval mode
   * @returns this layer
   * @throws NormkitError `E_OPTION` when `mode` is not a boolean (the layer is unchanged)
   */
  train(mode = true): this {
    if (typeof mode !== 'boolean') {
      throw new NormkitError('E_OPTION', `Layer.train mode: expected true or false, got ${describeValue(mode)}`, 'mode');
    }
    this.#mode = mode ? 'train' : 'eval';
    return this;
  }

  /**
   * Switches to eval mode: running statistics, where the plugin has them. Plugins
   * without an eval behaviour of their own (layer norm) compute the same in both modes.
   *
   * @returns this layer
   */
  eval(): this {
    this.#mode = 'eval';
    return this;
  }

  /**
   * Runs the forward pass in the current mode, keeps what backward needs, and
   * adopts the next state.
   *
   * @param x - the input
   * @param out - optional preallocated output (row-major, `x`'s shape and dtype), reused across steps
   * @returns the output
   * @throws NormkitError `E_OPTION` for an options object where `out` goes (`{ training }`,
   *   `{ mode }`: set the mode with {@link Layer.eval} / {@link Layer.train}); whatever the
   *   plugin's `forward` throws (`E_SHAPE`, `E_DTYPE`, `E_DEGENERATE`, `E_NONFINITE`, …; see the
   *   plugin); the layer is unchanged then
   */
  forward(x: Tensor, out?: Tensor): Tensor {
    if (out !== undefined && !isTensor(out) && typeof out === 'object' && out !== null && ('training' in out || 'mode' in out)) {
      // Keras's layer(x, training=False) and TF.js's apply(x, {training}): the mode is the layer's.
      throw new NormkitError(
        'E_OPTION',
        `forward(x, out): the second argument is a preallocated output tensor, got ${describeValue(out)}; the mode is the layer's: call layer.eval() (or layer.train()) before forward`,
        'out',
      );
    }
    const args = { x, params: this.params, state: this.state, mode: this.#mode };
    const result = this.normalizer.forward(out === undefined ? args : { ...args, out });
    this.state = result.state;
    this.#saved = result.saved;
    this.#savedReleasedBy = 'none';
    this.#savedParams = this.params;
    return result.y;
  }

  /**
   * Backward through the last forward call; parameter gradients are **added** to
   * {@link Layer.grads} (call {@link Layer.zeroGrad} between steps).
   *
   * Once per forward call, as in PyTorch: the saved values are released by a successful
   * backward, and a second backward on the same forward throws `E_STATE` (it would add the
   * gradients twice). Pass `{ retainSaved: true }` to keep them for another call (PyTorch's
   * `retain_graph=True`).
   *
   * @param dy - ∂L/∂y for the last output
   * @param options - a preallocated `dx` (a tensor, or `{ out }`), and `retainSaved`
   * @returns ∂L/∂x
   * @throws NormkitError `E_STATE` before any forward call, or for a second backward on the
   *   same forward without `retainSaved`; whatever the plugin's `backward` throws (e.g.
   *   `E_SHAPE` for a `dy` of another shape), with the gradients unchanged
   * @example
   * ```ts
   * const y = layer.forward(x);
   * layer.backward(dy1, { retainSaved: true }); // keep the saved values
   * layer.backward(dy2);                       // gradients of both add up; then released
   * ```
   */
  backward(dy: Tensor, options?: Tensor | LayerBackwardOptions): Tensor {
    if (this.#saved === null) {
      const why =
        this.#savedReleasedBy === 'backward'
          ? 'the last forward call was already differentiated, and its saved values released; call forward again, or pass { retainSaved: true } to the first backward to call backward twice (as PyTorch\'s retain_graph=True)'
          : this.#savedReleasedBy === 'to'
            ? 'Layer.to changed the dtype after the last forward call and released its saved values; call forward again'
            : 'expected a forward call first, got none';
      throw new NormkitError('E_STATE', `Layer.backward: ${why}`, 'dy');
    }
    const { out, retainSaved } = backwardOptions(options);
    const args = { dy, params: this.#savedParams ?? this.params, saved: this.#saved };
    const { dx, grads } = this.normalizer.backward(out === undefined ? args : { ...args, out });
    for (const [name, g] of entries(grads)) {
      const target = (this.grads as Record<string, Tensor | undefined>)[name];
      if (target !== undefined) addInto(target, g);
    }
    if (!retainSaved) {
      this.#saved = null;
      this.#savedParams = null;
      this.#savedReleasedBy = 'backward';
    }
    return dx;
  }

  /**
   * Converts the layer to another dtype, as PyTorch's `module.to(dtype)`: the parameters,
   * the floating state (running statistics) and the accumulated gradients become new tensors
   * of `dtype` (float64 → float32 rounds to nearest); counters such as `numBatchesTracked`
   * stay float64. The saved values of the last forward call are released (call forward again
   * before backward). Converting to the dtype the layer has already changes nothing.
   *
   * A finite value that float32 cannot hold (|v| above 3.4e38) is refused instead of becoming
   * ±Infinity, where PyTorch overflows silently: a layer normkit's own `loadStateDict` would
   * refuse is never made.
   *
   * @param dtype - `'float32'` or `'float64'`
   * @returns this layer
   * @throws NormkitError `E_OPTION` for another dtype; `E_NONFINITE` naming the entry and index
   *   of a finite value that overflows float32 (nothing changes then)
   * @example
   * ```ts
   * const bn = new BatchNorm({ numFeatures: 3 }).to('float64'); // for float64 inputs
   * ```
   */
  to(dtype: Dtype): this {
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new NormkitError('E_OPTION', `Layer.to dtype: expected 'float32' or 'float64', got ${describeValue(dtype)}`, 'dtype');
    }
    if (dtype === this.#dtype) return this;
    // The plugin's fresh state in the new dtype says which entries are counters (float64 always).
    const fresh = this.normalizer.init(dtype);
    const convert = <K extends string>(map: TensorMap<K>, like: TensorMap<K>): TensorMap<K> => {
      const converted: Record<string, Tensor> = {};
      for (const [name, t] of entries(map)) {
        const target = (like as Record<string, Tensor | undefined>)[name];
        converted[name] = target === undefined ? t : toDtype(t, dtypeOf(target));
        if (converted[name] !== t) refuseOverflow(`${where}.${name}`, t, converted[name]);
      }
      return converted as TensorMap<K>;
    };
    let where = 'grads';
    const grads = convert(this.grads, fresh.params);
    where = 'params';
    const params = convert(this.params, fresh.params);
    where = 'state';
    this.state = convert(this.state, fresh.state);
    this.params = params;
    const target = this.grads as Record<string, Tensor>;
    for (const name of Object.keys(target)) delete target[name];
    Object.assign(target, grads);
    this.#dtype = dtype;
    if (this.#saved !== null) this.#savedReleasedBy = 'to';
    this.#saved = null;
    this.#savedParams = null;
    return this;
  }

  /**
   * Resets the running statistics (and step counters) to their initial values, as PyTorch's
   * `reset_running_stats()`: new tensors in the layer's dtype. Parameters and gradients are
   * unchanged; a layer without state is unchanged.
   *
   * @returns this layer
   */
  resetRunningStats(): this {
    this.state = this.normalizer.init(this.#dtype).state;
    return this;
  }

  /**
   * Resets the parameters to their initial values **and** the running statistics, as
   * PyTorch's `reset_parameters()` of a normalization layer: new tensors in the layer's dtype
   * (what the plugin's `init` makes, e.g. γ = 1, β = 0). Gradients are unchanged.
   *
   * @returns this layer
   */
  resetParameters(): this {
    const fresh = this.normalizer.init(this.#dtype);
    this.params = fresh.params;
    this.state = fresh.state;
    return this;
  }

  /** Sets every accumulated gradient to zero. */
  zeroGrad(): void {
    for (const [, g] of entries(this.grads)) fillView(g, 0);
  }

  /** Names of the parameters, then of the state entries. */
  get stateNames(): string[] {
    return [...Object.keys(this.params), ...Object.keys(this.state)];
  }

  /**
   * A copy of every parameter and state entry, by name (parameters first).
   * Changing the copies does not change the layer.
   *
   * With `{ names: 'pytorch' }` the keys are the PyTorch `state_dict` keys the plugin declares
   * (`running_mean`, `num_batches_tracked`, …), in PyTorch's shapes where they differ; with a
   * `prefix` (`'features.1.'`) every key starts with it, as in a whole model's state dict.
   *
   * @param options - `names` (`'normkit'` default, or `'pytorch'`), `prefix`, `style`
   * @returns key → row-major copy, for {@link Layer.loadStateDict} with the same options
   * @throws NormkitError `E_OPTION` for bad options or PyTorch names of a plugin that declares
   *   none; `E_STATE` when the plugin's PyTorch names leave out one of the layer's entries
   * @example
   * ```ts
   * bn.stateDict();                                              // { weight, bias, runningMean, runningVar, numBatchesTracked }
   * bn.stateDict({ names: 'pytorch', prefix: 'features.1.' });  // { 'features.1.weight', …, 'features.1.num_batches_tracked' }
   * ```
   */
  stateDict(options: StateDictOptions = {}): StateDict {
    const current = this.#entries();
    const naming = resolveNaming(this.plugin as Normalizer, options, Object.keys(current));
    const dict: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(current)) {
      const copy = clone(t);
      const shape = naming.externalShape(name, t.shape);
      dict[naming.keys.get(name) as string] = shapesEqual(shape, t.shape) ? copy : tensor(copy.data, shape);
    }
    return dict;
  }

  /**
   * The keys of {@link Layer.stateDict} (with the same options) whose entries are integer
   * counters that PyTorch stores as int64 (`num_batches_tracked`): pass them as
   * `writeSafetensors`' `int64` option so a file keeps PyTorch's dtypes.
   *
   * @param options - as for {@link Layer.stateDict}
   * @returns the keys, possibly none
   * @throws NormkitError `E_OPTION` as {@link Layer.stateDict}
   */
  integerEntries(options: StateDictOptions = {}): string[] {
    const current = this.#entries();
    const naming = resolveNaming(this.plugin as Normalizer, options, Object.keys(current));
    const int64 = (this.plugin.pytorch?.int64 ?? []) as readonly string[];
    return Object.keys(current)
      .filter((name) => int64.includes(name))
      .map((name) => naming.keys.get(name) as string);
  }

  /**
   * Replaces parameters and state with copies of the given tensors, after checking
   * every entry: known name, float tensor, the same shape and dtype as now, finite values.
   * All or nothing: when it throws, the layer is unchanged.
   *
   * With `{ names: 'pytorch' }` the keys are PyTorch's (a weight-norm style is detected from
   * them), in PyTorch's shapes; with a `prefix` only the keys that start with it are read and
   * the rest of the model's entries are ignored. A key that is a name under other options gets
   * an error that says which, e.g. `unexpected entry "running_mean" (PyTorch name; pass { names: 'pytorch' })`.
   *
   * Under `{ names: 'pytorch' }`, a step counter (`num_batches_tracked`) missing from the dict
   * keeps the layer's own value (0 for a new layer) and is not reported missing, as PyTorch ≥ 2.2
   * reads a state dict without version metadata: checkpoints from before PyTorch 0.4.1 load as
   * they do there. Under normkit names a missing counter is missing like any entry.
   *
   * @param dict - key → tensor, as {@link Layer.stateDict} returns (or a file's tensors)
   * @param options - `strict` (default true) requires every entry and refuses unknown keys;
   *   `names`, `prefix`, `style` as for {@link Layer.stateDict}
   * @returns the missing and unexpected keys (both empty when `strict`)
   * @throws NormkitError `E_STATE` for a non-object `dict`, a missing or unknown entry (when
   *   `strict`), a misshapen or mistyped entry, entries of two PyTorch styles, or a state the
   *   plugin's `validateState` refuses; `E_NONFINITE` for NaN or ±Infinity; `E_OPTION` for bad options
   * @example
   * ```ts
   * const { tensors } = readSafetensors(readFileSync('model.safetensors'));
   * bn.loadStateDict(tensors, { names: 'pytorch', prefix: 'features.1.' });
   * // the g and v of a weight-normalized conv, beside its bias (skipped, and listed):
   * wn.loadStateDict(tensors, { names: 'pytorch', prefix: 'conv.', strict: false }); // { missingKeys: [], unexpectedKeys: ['conv.bias'] }
   * ```
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): IncompatibleKeys {
    if (typeof dict !== 'object' || dict === null || Array.isArray(dict) || isTensor(dict)) {
      throw new NormkitError('E_STATE', `loadStateDict: expected an object of tensors by name, got ${isTensor(dict) ? 'a tensor' : describeValue(dict)}`, 'dict');
    }
    if (typeof options !== 'object' || options === null) {
      throw new NormkitError('E_OPTION', `loadStateDict options: expected an object, got ${describeValue(options)}`, 'options');
    }
    const strict = options.strict ?? true;
    if (typeof strict !== 'boolean') {
      throw new NormkitError('E_OPTION', `loadStateDict options.strict: expected a boolean, got ${describeValue(strict)}`, 'options.strict');
    }
    const current = this.#entries();
    const entryNames = Object.keys(current);
    const naming: { names?: unknown; prefix?: unknown; style?: unknown } = { names: options.names, prefix: options.prefix, style: options.style };
    const prefix = resolvePrefix(options.prefix);
    const inScope = Object.keys(dict).filter((key) => key.startsWith(prefix));
    const resolved = resolveNaming(this.plugin as Normalizer, naming as StateDictNaming, entryNames, inScope);
    const nameOf = new Map<string, string>();
    for (const [name, key] of resolved.keys) nameOf.set(key, name);
    const incoming: Record<string, Tensor> = {};
    const unexpectedKeys: string[] = [];
    for (const key of Object.keys(dict)) {
      if (!key.startsWith(resolved.prefix)) continue;
      const name = nameOf.get(key);
      if (name === undefined && !strict) {
        unexpectedKeys.push(key);
        continue;
      }
      if (name === undefined) {
        throw new NormkitError(
          'E_STATE',
          `loadStateDict: unexpected entry ${JSON.stringify(key)}${namingHint(this.plugin as Normalizer, key, Object.keys(dict), entryNames, resolved)}; expected only ${[...resolved.keys.values()].join(', ') || '(none)'}`,
          key,
        );
      }
      const value: unknown = dict[key];
      let t: Tensor;
      try {
        t = assertTensor(value, key, { allowEmpty: true });
      } catch (e) {
        throw new NormkitError('E_STATE', `loadStateDict: ${(e as Error).message}`, key);
      }
      const expected = current[name];
      const expectedShape = resolved.externalShape(name, expected.shape);
      if (!shapesEqual(t.shape, expectedShape)) {
        throw new NormkitError('E_STATE', `loadStateDict: ${key} expected shape ${formatShape(expectedShape)}, got ${formatShape(t.shape)}`, key);
      }
      if (dtypeOf(t) !== dtypeOf(expected)) {
        throw new NormkitError(
          'E_STATE',
          `loadStateDict: ${key} expected dtype ${dtypeOf(expected)}, got ${dtypeOf(t)} (convert it with toDtype(t, '${dtypeOf(expected)}'), or move the layer with layer.to('${dtypeOf(t)}'))`,
          key,
        );
      }
      const bad = firstNonFinite(t);
      if (bad !== null) {
        throw new NormkitError('E_NONFINITE', `loadStateDict: ${key} expected finite values, got ${elementAt(t, bad)} at [${bad.join(', ')}]`, key);
      }
      incoming[name] = t;
    }
    // Under PyTorch names, a missing step counter keeps the layer's own value, as PyTorch ≥ 2.2
    // reads a state dict without version metadata (checkpoints from before num_batches_tracked
    // existed, PyTorch < 0.4.1, and every dict read from a file): not an error, not missing.
    if (options.names === 'pytorch') {
      for (const name of Object.keys(this.state)) {
        const key = resolved.keys.get(name);
        if (key !== undefined && key.endsWith('num_batches_tracked') && !Object.hasOwn(incoming, name)) incoming[name] = current[name];
      }
    }
    const missingKeys = entryNames.filter((name) => !Object.hasOwn(incoming, name)).map((name) => resolved.keys.get(name) as string);
    if (strict && missingKeys.length > 0) {
      throw new NormkitError('E_STATE', `loadStateDict: missing entries ${missingKeys.join(', ')}`, missingKeys[0]);
    }
    const copyOf = (name: string, t: Tensor) => {
      if (!Object.hasOwn(incoming, name)) return t;
      const copy = clone(incoming[name]);
      return shapesEqual(copy.shape, t.shape) ? copy : tensor(copy.data, t.shape);
    };
    const params: Record<string, Tensor> = {};
    const state: Record<string, Tensor> = {};
    for (const [name, t] of entries(this.params)) params[name] = copyOf(name, t);
    for (const [name, t] of entries(this.state)) state[name] = copyOf(name, t);
    this.normalizer.validateState?.(state as TensorMap<T['State']>);
    this.params = params as TensorMap<T['Params']>;
    this.state = state as TensorMap<T['State']>;
    return { missingKeys, unexpectedKeys };
  }

  /** The parameters, then the state entries, by normkit name. */
  #entries(): Record<string, Tensor> {
    const current: Record<string, Tensor> = {};
    for (const [name, t] of entries(this.params)) current[name] = t;
    for (const [name, t] of entries(this.state)) current[name] = t;
    return current;
  }
}

/**
 * The present entries of a {@link TensorMap}.
 *
 * @param map - the record of named tensors
 * @returns `[name, tensor]` pairs for every entry that is not `undefined`, in key order
 */
export function entries<K extends string>(map: TensorMap<K>): [K, Tensor][] {
  const out: [K, Tensor][] = [];
  for (const name of Object.keys(map) as K[]) {
    const t = map[name];
    if (t !== undefined) out.push([name, t]);
  }
  return out;
}

/** The `out` and `retainSaved` of {@link Layer.backward}'s second argument. */
function backwardOptions(options: Tensor | LayerBackwardOptions | undefined): { out: Tensor | undefined; retainSaved: boolean } {
  if (options === undefined) return { out: undefined, retainSaved: false };
  // Anything with data or a shape is meant as `out`: the plugin's checks report a bad one
  // (an integer ndarray, say) instead of it being read as an options object and ignored.
  if (isTensor(options) || (typeof options === 'object' && options !== null && ('data' in options || 'shape' in options))) {
    return { out: options as Tensor, retainSaved: false };
  }
  if (typeof options !== 'object' || options === null) {
    throw new NormkitError('E_OPTION', `Layer.backward options: expected { out?, retainSaved? } or an out tensor, got ${describeValue(options)}`, 'options');
  }
  const { out, retainSaved } = options;
  if (retainSaved !== undefined && typeof retainSaved !== 'boolean') {
    throw new NormkitError('E_OPTION', `Layer.backward options.retainSaved: expected a boolean, got ${describeValue(retainSaved)}`, 'options.retainSaved');
  }
  return { out, retainSaved: retainSaved === true };
}

/**
 * Refuses a conversion that turned a finite value into ±Infinity (float64 → float32 overflow);
 * values that were already NaN or infinite stay as they were.
 *
 * @param name - the entry, for the message (`params.weight`)
 * @param source - the tensor before conversion (any strides)
 * @param converted - its row-major conversion
 * @throws NormkitError `E_NONFINITE` naming the entry, the index and the value
 */
function refuseOverflow(name: string, source: Tensor, converted: Tensor): void {
  if (firstNonFinite(converted) === null) return;
  const before = toContiguous(source);
  for (let i = 0; i < converted.data.length; i++) {
    const value = before.data[i];
    if (Number.isFinite(value) && !Number.isFinite(converted.data[i])) {
      const index = unravel(i, converted.shape);
      throw new NormkitError(
        'E_NONFINITE',
        `Layer.to('${dtypeOf(converted)}'): ${name}[${index.join(', ')}] is ${value}, which ${dtypeOf(converted)} cannot hold (it would become ${converted.data[i]}); nothing was converted`,
        name,
      );
    }
  }
}

/** target += source, elementwise (same shape; target must be row-major contiguous or any view). */
function addInto(target: Tensor, source: Tensor): void {
  const src = isContiguous(source) ? source : toContiguous(source);
  const n = sizeOf(target.shape);
  if (isContiguous(target)) {
    const t = target.data;
    const s = src.data;
    for (let i = 0, pt = target.offset, ps = src.offset; i < n; i++) t[pt++] += s[ps++];
    return;
  }
  const flat = toContiguous(target);
  for (let i = 0; i < n; i++) flat.data[i] += src.data[src.offset + i];
  copyInto(flat, target);
}

function fillView(t: Tensor, value: number): void {
  if (isContiguous(t)) {
    t.data.fill(value, t.offset, t.offset + sizeOf(t.shape));
    return;
  }
  const flat = toContiguous(t);
  flat.data.fill(value);
  copyInto(flat, t);
}
