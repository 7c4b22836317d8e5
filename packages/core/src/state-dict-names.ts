import { NormkitError, describeValue } from './errors.js';
import type { Normalizer, PyTorchNames } from './normalizer.js';
import type { Shape } from './tensor.js';

/**
 * Which names a state dict uses: normkit's own (`runningMean`) or the PyTorch `state_dict`
 * keys the plugin declares in its `pytorch.stateDict` (`running_mean`).
 */
export type StateDictNames = 'normkit' | 'pytorch';

/** How the entries of a state dict are named: see {@link Layer.stateDict} and {@link Layer.loadStateDict}. */
export interface StateDictNaming {
  /** `'normkit'` (default) or `'pytorch'` (the names the plugin declares in `pytorch.stateDict`). */
  readonly names?: StateDictNames;
  /**
   * The layer's prefix in a whole model's state dict, e.g. `'features.1.'` (a trailing `.` is
   * added when missing). Saving puts it before every name; loading reads only the entries
   * that start with it and ignores the rest of the model. Default `''`.
   */
  readonly prefix?: string;
  /**
   * For plugins whose PyTorch names come in more than one style (weight norm:
   * `'parametrizations'` or `'legacy'`): the style to write. Loading detects the style from
   * the names when it is left out. Only with `names: 'pytorch'`.
   */
  readonly style?: string;
}

/** A naming, checked, for one plugin and one set of entries. */
export interface ResolvedNaming {
  /** The names used. */
  readonly names: StateDictNames;
  /** The prefix, `''` or ending in `.`. */
  readonly prefix: string;
  /** The PyTorch style (`null` for normkit names or a plugin with one PyTorch naming). */
  readonly style: string | null;
  /** normkit entry name → the key in the state dict (prefix included). */
  readonly keys: ReadonlyMap<string, string>;
  /** normkit entry name → the shape the state dict holds, from normkit's shape (PyTorch's, where it differs). */
  externalShape(name: string, shape: Shape): Shape;
}

type NameMap = Readonly<Record<string, string | undefined>>;

/**
 * The prefix option, checked and given its trailing dot.
 *
 * @param prefix - what came (`undefined` for none)
 * @returns `''` or a string ending in `.`
 * @throws NormkitError `E_OPTION` for a non-string prefix
 */
export function resolvePrefix(prefix: unknown): string {
  if (prefix === undefined) return '';
  if (typeof prefix !== 'string') {
    throw new NormkitError('E_OPTION', `state dict options.prefix: expected a string such as 'features.1.', got ${describeValue(prefix)}`, 'options.prefix');
  }
  return prefix === '' || prefix.endsWith('.') ? prefix : `${prefix}.`;
}

/** The PyTorch naming styles a plugin declares: the default `stateDict` first (as `null`), then the named ones. */
function pytorchStyles(pytorch: PyTorchNames): [string | null, NameMap][] {
  const styles: [string | null, NameMap][] = [[null, pytorch.stateDict as NameMap]];
  for (const [style, map] of Object.entries(pytorch.stateDictStyles ?? {})) styles.push([style, map as NameMap]);
  return styles;
}

/**
 * Checks a naming and maps every entry name to its key.
 *
 * @param plugin - the layer's plugin (its `pytorch` names)
 * @param naming - the user's naming options
 * @param entryNames - the layer's parameter and state names
 * @param detectFrom - the keys of a state dict being loaded, to detect the PyTorch style from
 *   (when `naming.style` is left out); omitted when saving
 * @returns the resolved naming
 * @throws NormkitError `E_OPTION` for bad options (unknown `names` or `style`, `style` without
 *   PyTorch names, PyTorch names for a plugin that declares none); `E_STATE` when the plugin
 *   gives no PyTorch name for an entry, or a loaded dict mixes two styles
 */
export function resolveNaming(plugin: Normalizer, naming: StateDictNaming, entryNames: readonly string[], detectFrom?: readonly string[]): ResolvedNaming {
  if (typeof naming !== 'object' || naming === null) {
    throw new NormkitError('E_OPTION', `state dict options: expected an object, got ${describeValue(naming)}`, 'options');
  }
  const names = naming.names ?? 'normkit';
  if (names !== 'normkit' && names !== 'pytorch') {
    throw new NormkitError('E_OPTION', `state dict options.names: expected 'normkit' or 'pytorch', got ${describeValue(names)}`, 'options.names');
  }
  const prefix = resolvePrefix(naming.prefix);
  if (names === 'normkit') {
    if (naming.style !== undefined) {
      throw new NormkitError('E_OPTION', `state dict options.style: only with names: 'pytorch', got style ${describeValue(naming.style)} with normkit names`, 'options.style');
    }
    return { names, prefix, style: null, keys: new Map(entryNames.map((n) => [n, prefix + n])), externalShape: (_name, shape) => shape };
  }
  const pytorch = plugin.pytorch;
  if (pytorch === undefined) {
    throw new NormkitError('E_OPTION', `state dict options.names: ${plugin.meta.name} declares no PyTorch names (its definition has no pytorch.stateDict), got 'pytorch'`, 'options.names');
  }
  const styles = pytorchStyles(pytorch);
  let chosen: [string | null, NameMap];
  if (naming.style !== undefined) {
    const found = styles.find(([style]) => style !== null && style === naming.style);
    if (found === undefined) {
      const known = styles.map(([s]) => s).filter((s): s is string => s !== null);
      throw new NormkitError(
        'E_OPTION',
        `state dict options.style: expected ${known.length === 0 ? `none (${plugin.meta.name} has one PyTorch naming)` : known.map((s) => `'${s}'`).join(' or ')}, got ${describeValue(naming.style)}`,
        'options.style',
      );
    }
    chosen = found;
  } else if (detectFrom === undefined) {
    chosen = namedDefault(styles, entryNames);
  } else {
    chosen = detectStyle(plugin, styles, entryNames, prefix, detectFrom);
  }
  const [style, map] = chosen;
  const keys = new Map<string, string>();
  for (const name of entryNames) {
    const key = map[name];
    if (key === undefined) {
      throw new NormkitError('E_STATE', `state dict: ${plugin.meta.name} gives no PyTorch name for its entry ${JSON.stringify(name)} (pytorch.stateDict)`, name);
    }
    keys.set(name, prefix + key);
  }
  const shapes = (pytorch.stateDictShapes ?? {}) as Readonly<Record<string, ((shape: Shape) => Shape) | undefined>>;
  return {
    names,
    prefix,
    style,
    keys,
    externalShape: (name, shape) => shapes[name]?.(shape) ?? shape,
  };
}

/**
 * The one named style with a distinguishing name among the loaded keys; the default when
 * none has (or the plugin has one naming).
 */
function detectStyle(
  plugin: Normalizer,
  styles: readonly [string | null, NameMap][],
  entryNames: readonly string[],
  prefix: string,
  loadedKeys: readonly string[],
): [string | null, NameMap] {
  const named = styles.filter(([style]) => style !== null);
  if (named.length === 0) return styles[0];
  const present = new Set(loadedKeys);
  const distinguishing = (map: NameMap, n: string) => named.every(([, other]) => other === map || other[n] !== map[n]);
  const matching = named.filter(([, map]) => entryNames.some((n) => map[n] !== undefined && distinguishing(map, n) && present.has(prefix + map[n])));
  if (matching.length > 1) {
    const describe = ([style, map]: [string | null, NameMap]) =>
      `'${style}' (${entryNames.map((n) => map[n]).filter((k) => k !== undefined).map((k) => prefix + k).join(', ')})`;
    throw new NormkitError(
      'E_STATE',
      `state dict: has entries of more than one PyTorch naming style of ${plugin.meta.name}: ${matching.map(describe).join(' and ')}; expected one (or pass options.style)`,
      'dict',
    );
  }
  if (matching.length === 1) return matching[0];
  return namedDefault(styles, entryNames);
}

/** The default naming (`stateDict`), under the name of the style it equals when there is one. */
function namedDefault(styles: readonly [string | null, NameMap][], entryNames: readonly string[]): [string | null, NameMap] {
  const [, defaults] = styles[0];
  return styles.find(([style, map]) => style !== null && entryNames.every((n) => map[n] === defaults[n])) ?? styles[0];
}

/**
 * A hint for a key that no entry of the naming in use has: the naming options under which it
 * would be an entry, e.g. `(PyTorch name; pass { names: 'pytorch' })`. When the key fits
 * several namings (`bias` is both normkit's and PyTorch's), the one under which most keys of
 * the dict are entries wins.
 *
 * @param plugin - the layer's plugin
 * @param key - the unexpected key
 * @param dictKeys - every key of the dict being loaded
 * @param entryNames - the layer's entry names
 * @param current - the naming in use
 * @returns the hint in parentheses, or `''` when the key is nobody's name
 */
export function namingHint(plugin: Normalizer, key: string, dictKeys: readonly string[], entryNames: readonly string[], current: ResolvedNaming): string {
  const candidates: { names: StateDictNames; style: string | null; map: NameMap }[] = [
    { names: 'normkit', style: null, map: Object.fromEntries(entryNames.map((n) => [n, n])) },
  ];
  if (plugin.pytorch !== undefined) {
    const styles = pytorchStyles(plugin.pytorch);
    const named = styles.filter(([style]) => style !== null);
    for (const [style, map] of named.length > 0 ? named : styles) candidates.push({ names: 'pytorch', style, map });
  }
  let best: { names: StateDictNames; style: string | null; prefix: string; fits: number } | null = null;
  for (const c of candidates) {
    const locals = entryNames.map((n) => c.map[n]).filter((k): k is string => k !== undefined);
    for (const local of locals) {
      if (!key.endsWith(local)) continue;
      const prefix = key.slice(0, key.length - local.length);
      if (prefix !== '' && !prefix.endsWith('.')) continue;
      if (c.names === current.names && prefix === current.prefix && c.style === current.style) continue;
      const fits = dictKeys.filter((k) => locals.some((l) => k === prefix + l)).length;
      if (best === null || fits > best.fits) best = { names: c.names, style: c.style, prefix, fits };
    }
  }
  if (best === null) return '';
  const what = best.names === 'pytorch' ? `PyTorch name${best.style === null || current.names !== 'pytorch' ? '' : ` in style '${best.style}'`}` : 'normkit name';
  const where = best.prefix === '' ? '' : ` under prefix ${JSON.stringify(best.prefix)}`;
  const options: string[] = [];
  if (best.names === 'pytorch') options.push(`names: 'pytorch'`);
  else if (current.names === 'pytorch') options.push(`names: 'normkit'`);
  if (best.prefix !== current.prefix) options.push(`prefix: '${best.prefix}'`);
  if (best.style !== null && current.names === 'pytorch' && best.style !== current.style) options.push(`style: '${best.style}'`);
  return ` (${what}${where}; pass { ${options.join(', ')} })`;
}
