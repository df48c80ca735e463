import type { Command } from 'commander';
import { rollback } from '../runner/rollback.js';
import { eventPrinter } from '../runner/event-printer.js';
import { abortOnSignals } from '../runner/signals.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { BOUNDS } from '../option-bounds.js';
import { bounded, rangeNote } from './parse-number.js';

/** `phasectl rollback --release <name>`: runs the down files of the newest applied release. */
export function register(program: Command): void {
  withDatabaseOption(program.command('rollback'))
    .description('undo the newest applied release by running its down files')
    .addHelpText('after', '\nExamples:\n  $ phasectl rollback --release 1.6.0                # the newest applied release only\n  $ phasectl rollback --release 1.6.0 --json')
    .requiredOption('--release <name>', 'the release to roll back (must be the newest applied)')
    .option('--project <dir>', 'project root holding phases.yaml and db/ (default: current directory)')
    .option('--lock-timeout <ms>', 'lock_timeout for DDL, replacing the files\' own value' + rangeNote(BOUNDS.lockTimeoutMs), bounded(BOUNDS.lockTimeoutMs))
    .option('--retry-for <seconds>', 'keep retrying lock timeouts this long (default 60)' + rangeNote(BOUNDS.retryForSeconds), bounded(BOUNDS.retryForSeconds))
    .option('--show-blocker-queries', 'name the queries of sessions blocking a migration (constants masked); default: pid, user, application, state, age')
    .option('--wait-lock <seconds>', 'wait this long for another phasectl run to finish (default 0)' + rangeNote(BOUNDS.waitLockSeconds), bounded(BOUNDS.waitLockSeconds))
    .option('--quiet', 'print errors only')
    .option('--json', 'print one JSON event per line')
    .action(
      action(async (flags: { databaseUrl?: string; project?: string; release: string; lockTimeout?: number; retryFor?: number; waitLock?: number; showBlockerQueries?: boolean; quiet?: boolean; json?: boolean }) => {
        const signals = abortOnSignals();
        try {
          const result = await rollback({
            databaseUrl: requireDatabaseUrl(flags.databaseUrl),
            projectDir: flags.project,
            release: flags.release,
            lockTimeoutMs: flags.lockTimeout,
            retryForSeconds: flags.retryFor,
            waitLockSeconds: flags.waitLock,
            showBlockerQueries: flags.showBlockerQueries,
            signal: signals.signal,
            log: eventPrinter({ json: flags.json, quiet: flags.quiet, tty: process.stdout.isTTY === true, write: (t) => void process.stdout.write(t) }),
          });
          if (!flags.quiet && !flags.json) processOutput.out(`rolled back release ${result.release}: ${result.ran.length} down file(s) run`);
        } finally {
          signals.dispose();
        }
      }),
    );
}
