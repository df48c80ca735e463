import type { Command } from 'commander';

/**
 * The options every command spells the same way. Each helper adds one option to a commander command and
 * returns it, so they chain: `withProjectOption(program.command('migrate'))…`.
 */

/** `--project <dir>`: the project root holding phases.yaml and db/ (default: the current directory). */
export function withProjectOption(command: Command): Command {
  return command.option('--project <dir>', 'project root holding phases.yaml and db/ (default: current directory)');
}

/** `--quiet` and `--json`: how a long-running command prints its events. */
export function withEventOutputOptions(command: Command): Command {
  return command.option('--quiet', 'print errors only').option('--json', 'print one JSON event per line');
}
