import { NormkitError } from './errors.js';
import type { Normalizer } from './normalizer.js';
import { assertNormalizer } from './plugin.js';

/**
 * Plugins keyed by their literal `meta.name`: for each name, the plugin of the list that has
 * it (what {@link createRegistry} types its registry with).
 */
export type PluginsByName<P extends readonly Normalizer<any>[]> = {
  /** The plugin named K. */
  [K in P[number]['meta']['name']]: Extract<P[number], NamedPlugin<K>>;
};

/** The shape every plugin named `K` has (what {@link PluginsByName} picks plugins by). */
export interface NamedPlugin<K extends string> {
  /** Its meta. */
  readonly meta: {
    /** Its name, `K`. */
    readonly name: K;
  };
}

/**
 * A name → plugin map, typed by name: `get('batch-norm')` returns the batch-norm plugin's own
 * type when it was registered with a literal name. Nothing registers itself on import: you
 * build a registry and add the plugins you use.
 *
 * @example
 * ```ts
 * const registry = createRegistry([batchNorm, layerNorm]);
 * const bn = registry.get('batch-norm').create({ numFeatures: 3 }); // typed as batch norm
 * ```
 */
export interface Registry<M extends Record<string, Normalizer<any>> = Record<never, never>> {
  /**
   * Adds a plugin under `plugin.meta.name`.
   *
   * @param plugin - the normalizer (checked with {@link assertNormalizer})
   * @returns the registry, typed with the new name
   * @throws NormkitError `E_REGISTRY` when the name is taken; `E_PLUGIN` when it is not a normalizer
   */
  register<N extends Normalizer<any>>(plugin: N): Registry<M & { [K in N['meta']['name']]: N }>;
  /**
   * The plugin with this name.
   *
   * @param name - a `meta.name`, e.g. `"batch-norm"`
   * @returns the registered plugin (precisely typed for a name the registry's type knows)
   * @throws NormkitError `E_REGISTRY` when there is none (the message lists the names there are)
   */
  get<K extends keyof M & string>(name: K): M[K];
  /**
   * The plugin with a name the registry's type does not know (a name read at run time).
   *
   * @param name - a `meta.name`
   * @returns the registered plugin, typed as any normalizer
   * @throws NormkitError `E_REGISTRY` when there is none
   */
  get(name: string): Normalizer;
  /**
   * Is a plugin registered under this name?
   *
   * @param name - a `meta.name`
   * @returns whether {@link Registry.get} would find it
   */
  has(name: string): boolean;
  /**
   * The registered names, sorted.
   *
   * @returns a new array of names
   */
  list(): string[];
  /**
   * The registered plugins, in name order.
   *
   * @returns a new array
   */
  plugins(): Normalizer[];
}

/**
 * A new registry holding `plugins`.
 *
 * @param plugins - plugins to register now, in order
 * @returns the registry, typed by the plugins' literal names
 * @throws NormkitError `E_PLUGIN` when an entry is not a normalizer; `E_REGISTRY` when two share a name
 * @example
 * ```ts
 * const registry = createRegistry([batchNorm, layerNorm]);
 * registry.list();                        // ['batch-norm', 'layer-norm']
 * const ln = registry.get('layer-norm');  // typeof layerNorm
 * ```
 */
export function createRegistry<const P extends readonly Normalizer<any>[] = []>(plugins?: P): Registry<PluginsByName<P>> {
  const byName = new Map<string, Normalizer>();
  const registry = {
    register(plugin: Normalizer) {
      const checked = assertNormalizer(plugin);
      const name = checked.meta.name;
      if (byName.has(name)) {
        throw new NormkitError('E_REGISTRY', `registry: a normalizer named ${JSON.stringify(name)} is already registered`, 'name');
      }
      byName.set(name, checked);
      return registry;
    },
    get(name: string) {
      const plugin = byName.get(name);
      if (plugin === undefined) {
        const known = [...byName.keys()].sort();
        throw new NormkitError(
          'E_REGISTRY',
          `registry: no normalizer named ${JSON.stringify(name)}; registered: ${known.length > 0 ? known.join(', ') : '(none)'}`,
          'name',
        );
      }
      return plugin;
    },
    has(name: string) {
      return byName.has(name);
    },
    list() {
      return [...byName.keys()].sort();
    },
    plugins() {
      return [...byName.keys()].sort().map((name) => byName.get(name) as Normalizer);
    },
  };
  for (const plugin of plugins ?? []) registry.register(plugin);
  return registry as unknown as Registry<PluginsByName<P>>;
}
