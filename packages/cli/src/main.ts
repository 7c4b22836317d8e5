import { isNormkitError } from '@normkit/core';
import { UsageError } from './args.js';
import { conformanceCommand } from './commands/conformance.js';
import { gradcheckCommand } from './commands/gradcheck.js';
import { stateCommand } from './commands/state.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import { builtinRegistry } from './plugins.js';

/** The help text, printed by `normkit --help` (to stdout) and by a bare `normkit` (to stderr). */
export const USAGE = `usage: normkit <command> [options]

commands:
  gradcheck [NAME|PATH ...] [--seed N] [--size example|large|all] [--order 1|2] [--json]
      check backward passes by finite differences: built-in plugins by name
      (all of them when none is named), or your ES module by path (its default
      export, or an export named "plugin"); --size large checks the plugins'
      large shapes (projections) instead of their example shapes, all both
  conformance DIR [--dtype float64|float32] [--json]
      run every *.json PyTorch case in DIR through the matching built-in plugin
  state inspect FILE [--json] | state convert IN OUT   (.safetensors or .json)

exit codes: 0 all passed, 1 something failed, 2 bad arguments or input
`;

/**
 * Runs the `normkit` command.
 *
 * Bad arguments and bad input do not throw: an unknown command or flag, an unknown plugin,
 * a module that exports no normalizer, or a `NormkitError` raised while loading (e.g.
 * `E_STATE` for a malformed case file) is printed to `io.err` as one line and returns 2.
 *
 * @param argv - the arguments after the command name
 * @param io - where to write (default: stdout and stderr)
 * @returns the exit code: 0 all passed, 1 a check failed, 2 bad arguments or input
 * @throws Error only for an internal failure (anything but a usage error or a `NormkitError`)
 * @example
 * ```ts
 * const lines: string[] = [];
 * const code = await main(['gradcheck', 'layer-norm', '--json'], { out: (t) => lines.push(t), err: () => {} });
 * const report: GradcheckJson = JSON.parse(lines.join(''));
 * ```
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'gradcheck':
        return await gradcheckCommand(rest, io, builtinRegistry());
      case 'conformance':
        return conformanceCommand(rest, io, builtinRegistry());
      case 'state':
        return stateCommand(rest, io);
      case '--help':
      case '-h':
      case 'help':
        io.out(USAGE);
        return 0;
      case undefined:
        io.err(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (expected gradcheck or conformance; see normkit --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || isNormkitError(e)) {
      io.err(`normkit: ${e.message.split('\n')[0]}\n`);
      return 2;
    }
    throw e;
  }
}
