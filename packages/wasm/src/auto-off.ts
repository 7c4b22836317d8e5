/**
 * `@normkit/wasm/auto` under the `normkit-no-wasm` export condition: installs nothing, so a
 * bundle built with that condition (esbuild `conditions: ['normkit-no-wasm']`, Vite
 * `resolve.conditions`, webpack `resolve.conditionNames`, `node --conditions=normkit-no-wasm`)
 * carries no WebAssembly and runs the TypeScript kernels. A page that needs no speed-up, or
 * whose policy does not allow `'wasm-unsafe-eval'`, saves the inlined kernels' bytes this way.
 *
 * @packageDocumentation
 */

/**
 * The stand-in for {@link installDefaultWasm} under the `normkit-no-wasm` condition.
 *
 * @returns `null`: no backend is installed
 */
export function installDefaultWasm(): null {
  return null;
}
