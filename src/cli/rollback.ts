import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { rollback, type RollbackResult } from '../commands/rollback.js';
import { withEventOutput } from './event-output.js';
import { runOptionsFrom, withEventOutputOptions, withProjectOption, withRunOptions, type RunFlags } from './options.js';
import { silent } from '../events.js';
import { describeTarget } from '../db/url.js';
import { ExitCode, InputError } from '../errors.js';
import { action, printable, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { streamStyle } from '../terminal/color.js';

interface RollbackFlags extends RunFlags {
  databaseUrl?: string;
  project?: string;
  release: string;
  dryRun?: boolean;
  yes?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/**
 * `phasectl rollback --release <name>`: runs the down files of the newest applied release. A real rollback asks
 * first on a terminal; without one it needs --yes (a script must say so). The library function never asks.
 */
export function register(program: Command): void {
  withRunOptions(withEventOutputOptions(withProjectOption(withDatabaseOption(program.command('rollback')))))
    .description('undo the newest applied release by running its down files (asks first; --yes in scripts)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ phasectl rollback --release 1.6.0 --dry-run      # list the down files and their SQL, change nothing\n' +
        '  $ phasectl rollback --release 1.6.0                # the newest applied release only; asks [y/N] first\n' +
        '  $ phasectl rollback --release 1.6.0 --yes --json   # CI and scripts: no question, JSON events\n' +
        '\nWithout a terminal on stdin a rollback needs --yes (exit 2 otherwise, nothing changed).',
    )
    .requiredOption('--release <name>', 'the release to roll back (must be the newest applied)')
    .option('--dry-run', 'print the down files that would run, in order, with their SQL; change nothing')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .action(
      action(async (flags: RollbackFlags) => {
        const databaseUrl = requireDatabaseUrl(flags.databaseUrl);
        // Checked before connecting: a script that forgot --yes changes nothing.
        if (!flags.dryRun && !flags.yes && process.stdin.isTTY !== true) {
          throw new InputError(
            `rollback of release ${flags.release} not confirmed: stdin is not a terminal, so phasectl cannot ask`,
            {
              hint: `pass --yes to roll back without asking (CI and scripts must say so), or --dry-run to see what would run`,
            },
          );
        }
        return withEventOutput(flags, async ({ log, signal }): Promise<number | void> => {
          const options = {
            databaseUrl,
            projectDir: flags.project,
            release: flags.release,
            ...runOptionsFrom(flags),
            signal,
            log,
          };
          if (flags.dryRun) {
            const planned = await rollback({ ...options, dryRun: true });
            if (!flags.quiet && !flags.json)
              processOutput.out(
                `dry run: rolling back release ${planned.release} would run ${countFiles(planned)} down file(s); nothing changed`,
              );
            return;
          }
          if (!flags.yes) {
            const planned = await rollback({ ...options, dryRun: true, log: silent });
            if (!(await confirm(planned, describeTarget(databaseUrl)))) {
              processOutput.err('rollback cancelled: nothing changed');
              return ExitCode.problems;
            }
          }
          const result = await rollback(options);
          if (!flags.quiet && !flags.json)
            processOutput.out(`rolled back release ${result.release}: ${result.ran.length} down file(s) run`);
        });
      }),
    );
}

function countFiles(result: RollbackResult): number {
  return result.planned.reduce((sum, group) => sum + group.downs.length, 0);
}

/** What undoing each phase does, for the question. */
const PHASE_EFFECT: Record<number, string> = {
  1: 'drops what phase 1 added: the new column with its data, sync trigger, indexes and constraints',
  2: 'switches back to the old column',
  3: 're-adds the dropped column and backfills it',
};

/**
 * Shows what the rollback runs and asks on the terminal (on stderr, so stdout stays the command's output).
 * Only "y" or "yes" goes on; anything else, or stdin closing, cancels.
 */
async function confirm(planned: RollbackResult, target: string): Promise<boolean> {
  const paint = streamStyle(process.stderr);
  const lines = planned.planned.flatMap((group) => [
    `  phase ${group.phase} of ${group.changeId} (${PHASE_EFFECT[group.phase] ?? 'runs its down files'}):`,
    ...group.downs.map((name) => `    ${name}`),
  ]);
  process.stderr.write(printable(`${lines.join('\n')}\n`));
  // describeTarget prints host:port/database only: never the password.
  const question = printable(
    `roll back release ${planned.release} on ${target}: ${countFiles(planned)} down file(s) listed above (--dry-run shows their SQL)?`,
  );
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const closed = new Promise<string>((resolve) => readline.once('close', () => resolve('')));
    // Ctrl-C at the question (the terminal is in raw mode, so readline sees it, not the signal handler): cancel.
    readline.once('SIGINT', () => readline.close());
    const answer = await Promise.race([readline.question(`${paint.yellow(question)} [y/N] `), closed]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    readline.close();
  }
}
