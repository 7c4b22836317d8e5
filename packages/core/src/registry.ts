import { NormkitError } from './errors.js';
import type { Normalizer } from './normalizer.js';
import { assertNormalizer } from './plugin.js';

/**
 * A name → plugin map. Nothing registers itself on import: you build a registry and
 * add the plugins you use.
 *
 * @example
 * ```ts
 * const registry = createRegistry([batchNorm, layerNorm]);
 * registry.get('batch-norm');
 * ```
 */
export interface Registry {
  /**
   * Adds a plugin under `plugin.meta.name`.
   *
   * @param plugin - the normalizer (checked with {@link assertNormalizer})
   * @returns the registry, for chaining
   * @throws NormkitError `E_REGISTRY` when the name is taken; `E_PLUGIN` when it is not a normalizer
   */
  register(plugin: Normalizer): this;
  /**
   * The plugin with this name.
   *
   * @param name - a `meta.name`, e.g. `"batch-norm"`
   * @returns the registered plugin
   * @throws NormkitError `E_REGISTRY` when there is none (the message lists the names there are)
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
}

/**
 * A new, empty (or pre-filled) registry.
 *
 * @param plugins - plugins to register now, in order
 * @returns the registry
 * @throws NormkitError `E_PLUGIN` when an entry of `plugins` is not a normalizer;
 *   `E_REGISTRY` when two of them share a name
 * @example
 * ```ts
 * const registry = createRegistry([batchNorm, layerNorm]);
 * registry.list();                        // ['batch-norm', 'layer-norm']
 * const plugin = registry.get('layer-norm');
 * ```
 */
export function createRegistry(plugins: readonly Normalizer[] = []): Registry {
  const byName = new Map<string, Normalizer>();
  const registry: Registry = {
    register(plugin) {
      const checked = assertNormalizer(plugin);
      const name = checked.meta.name;
      if (byName.has(name)) {
        throw new NormkitError('E_REGISTRY', `registry: a normalizer named ${JSON.stringify(name)} is already registered`, 'name');
      }
      byName.set(name, checked);
      return this;
    },
    get(name) {
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
    has(name) {
      return byName.has(name);
    },
    list() {
      return [...byName.keys()].sort();
    },
  };
  for (const plugin of plugins) registry.register(plugin);
  return registry;
}
