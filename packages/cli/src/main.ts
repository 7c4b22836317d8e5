import { isNormkitError } from '@normkit/core';
import { UsageError } from './args.js';
import { conformanceCommand } from './commands/conformance.js';
import { gradcheckCommand } from './commands/gradcheck.js';
import { stateCommand } from './commands/state.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import { COMMAND_HELP, USAGE } from './help.js';
import { builtinRegistry } from './plugins.js';
import { VERSION } from './version.js';

export { USAGE } from './help.js';

const HELP_FLAGS: readonly string[] = ['--help', '-h'];

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
    // `normkit COMMAND --help` and `normkit help COMMAND` print the command's help.
    if (command !== undefined && Object.hasOwn(COMMAND_HELP, command) && rest.some((a) => HELP_FLAGS.includes(a))) {
      io.out(COMMAND_HELP[command]);
      return 0;
    }
    switch (command) {
      case 'gradcheck':
        return await gradcheckCommand(rest, io, builtinRegistry());
      case 'conformance':
        return await conformanceCommand(rest, io, builtinRegistry());
      case 'state':
        return stateCommand(rest, io);
      case '--version':
      case '-v':
      case '-V':
        io.out(`normkit ${VERSION}\n`);
        return 0;
      case 'help':
        if (rest.length > 0 && !Object.hasOwn(COMMAND_HELP, rest[0])) throw new UsageError(`no help for ${JSON.stringify(rest[0])}: the commands are gradcheck, conformance and state`);
        io.out(rest.length > 0 ? COMMAND_HELP[rest[0]] : USAGE);
        return 0;
      case '--help':
      case '-h':
        io.out(USAGE);
        return 0;
      case undefined:
        io.err(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)} (expected gradcheck, conformance or state; see normkit --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || isNormkitError(e)) {
      io.err(`normkit: ${e.message.split('\n')[0]}\n`);
      return 2;
    }
    throw e;
  }
}
