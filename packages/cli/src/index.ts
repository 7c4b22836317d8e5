/**
 * `@normkit/cli`: the `normkit` command, also usable as a library.
 *
 * - `normkit gradcheck [NAME|PATH ...] [--seed N] [--size example|large|all] [--variant-shapes one|all] [--order 1|2] [--json]`
 * - `normkit conformance [DIR] [--dtype float64|float32] [--json]`
 * - `normkit state inspect FILE [--json]`, `normkit state convert IN OUT`
 * - `normkit --help`, `normkit COMMAND --help`, `normkit --version`
 *
 * @packageDocumentation
 */
export { main, USAGE } from './main.js';
export { COMMAND_HELP } from './help.js';
export { VERSION } from './version.js';
export { BUILTIN_PLUGINS, builtinRegistry } from './plugins.js';
export { loadPluginModule } from './load-plugin.js';
export type { Io } from './io.js';
export type { ConformanceJson } from './commands/conformance.js';
export type { GradcheckJson, GradcheckJsonEntry } from './commands/gradcheck.js';
export type { StateInspectJson } from './commands/state.js';
