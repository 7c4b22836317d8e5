/**
 * `@normkit/cli`: the `normkit` command, also usable as a library.
 *
 * - `normkit gradcheck [NAME|PATH ...] [--seed N] [--size example|large|all] [--order 1|2] [--json]`
 * - `normkit conformance DIR [--dtype float64|float32] [--json]`
 * - `normkit state inspect FILE [--json]`, `normkit state convert IN OUT`
 *
 * @packageDocumentation
 */
export { main, USAGE } from './main.js';
export { BUILTIN_PLUGINS, builtinRegistry } from './plugins.js';
export { loadPluginModule } from './load-plugin.js';
export type { Io } from './io.js';
export type { ConformanceJson } from './commands/conformance.js';
export type { GradcheckJson, GradcheckJsonEntry } from './commands/gradcheck.js';
export type { StateInspectJson } from './commands/state.js';
