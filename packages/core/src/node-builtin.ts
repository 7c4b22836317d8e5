/**
 * A Node built-in module when this code runs on Node, `undefined` elsewhere (a browser, a
 * Web Worker, Deno without Node compatibility). normkit reaches Node-only APIs (the file
 * system of the conformance loader, `worker_threads` for the two-thread paths) through it at
 * the moment they are needed, instead of importing them, so the main entry of every package
 * imports no Node built-in and bundles for the web as is. Uses `process.getBuiltinModule`
 * (Node ≥ 20.16).
 *
 * @param id - the module's name, e.g. `'node:fs'`
 * @returns the module, or `undefined` off Node
 * @example
 * ```ts
 * const fs = nodeBuiltin<typeof import('node:fs')>('node:fs');
 * if (fs === undefined) throw new Error('needs Node');
 * ```
 */
export function nodeBuiltin<T = unknown>(id: string): T | undefined {
  const host = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  const get = host.process?.getBuiltinModule;
  return typeof get === 'function' ? (get.call(host.process, id) as T | undefined) : undefined;
}
