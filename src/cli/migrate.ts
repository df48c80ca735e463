import type { Command } from 'commander';
import { migrate } from '../runner/migrate.js';
import { useColor } from './color.js';
import { eventPrinter } from '../runner/event-printer.js';
import { abortOnSignals } from '../runner/signals.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { BOUNDS } from '../option-bounds.js';
import { bounded, rangeNote } from './parse-number.js';
import { withFleetOptions, type FleetFlags } from './fleet.js';
import { migrateFleetCli } from './fleet-commands.js';

interface MigrateFlags extends FleetFlags {
  allowPartialFleet?: boolean;
  databaseUrl?: string;
  project?: string;
  dryRun?: boolean;
  toRelease?: string;
  lockTimeout?: number;
  retryFor?: number;
  waitLock?: number;
  showBlockerQueries?: boolean;
  batchSize?: number;
  targetBatchMs?: number;
  pauseMs?: number;
  quiet?: boolean;
  json?: boolean;
}

/** `phasectl migrate`: applies pending migration files (backfills and verifications included). */
export function register(program: Command): void {
  withFleetOptions(withDatabaseOption(program.command('migrate')))
    .option('--allow-partial-fleet', 'with --fleet: let phase 3 start although a database has not applied phase 2')
    .description('apply pending migrations in db/migrations, in file-name order')
    .addHelpText('after', '\nExamples:\n  $ DATABASE_URL=postgres://app@db/app phasectl migrate\n  $ phasectl migrate --dry-run                       # print what would run\n  $ phasectl migrate --to-release 1.5.0 --json       # stop at a release boundary; JSON events\n  $ phasectl migrate --lock-timeout 500 --retry-for 300 --wait-lock 60\n  $ phasectl migrate --fleet --concurrency 4          # every database of fleet.yaml (docs/fleets.md)')
    .option('--project <dir>', 'project root holding phases.yaml and db/ (default: current directory)')
    .option('--dry-run', 'print the SQL of each pending file and change nothing')
    .option('--to-release <name>', 'stop after the last file of this release')
    .option('--lock-timeout <ms>', 'lock_timeout for DDL, replacing the files\' own value' + rangeNote(BOUNDS.lockTimeoutMs), bounded(BOUNDS.lockTimeoutMs))
    .option('--retry-for <seconds>', 'keep retrying lock timeouts this long (default 60)' + rangeNote(BOUNDS.retryForSeconds), bounded(BOUNDS.retryForSeconds))
    .option('--show-blocker-queries', 'name the queries of sessions blocking a migration (constants masked); default: pid, user, application, state, age')
    .option('--wait-lock <seconds>', 'wait this long for another phasectl migrate to finish (default 0)' + rangeNote(BOUNDS.waitLockSeconds), bounded(BOUNDS.waitLockSeconds))
    .option('--batch-size <rows>', 'first backfill batch size (default 1000)' + rangeNote(BOUNDS.batchSize), bounded(BOUNDS.batchSize))
    .option('--target-batch-ms <ms>', 'target duration of a backfill batch (default 50)' + rangeNote(BOUNDS.targetBatchMs), bounded(BOUNDS.targetBatchMs))
    .option('--pause-ms <ms>', 'pause between backfill batches (default 0)' + rangeNote(BOUNDS.pauseMs), bounded(BOUNDS.pauseMs))
    .option('--quiet', 'print errors only')
    .option('--json', 'print one JSON event per line')
    .action(
      action(async (flags: MigrateFlags) => {
        if (flags.fleet !== undefined) return await migrateFleetCli(flags);
        const signals = abortOnSignals();
        const printer = eventPrinter({ json: flags.json, quiet: flags.quiet, tty: process.stdout.isTTY === true, color: useColor(process.stdout), write: (t) => void process.stdout.write(t) });
        signals.beforeMessage = printer.end;
        try {
          const result = await migrate({
            databaseUrl: requireDatabaseUrl(flags.databaseUrl),
            projectDir: flags.project,
            dryRun: flags.dryRun,
            toRelease: flags.toRelease,
            lockTimeoutMs: flags.lockTimeout,
            retryForSeconds: flags.retryFor,
            waitLockSeconds: flags.waitLock,
            showBlockerQueries: flags.showBlockerQueries,
            backfill: { batchSize: flags.batchSize, targetBatchMs: flags.targetBatchMs, pauseMs: flags.pauseMs },
            signal: signals.signal,
            log: (event) => {
              signals.track(event);
              printer(event);
            },
          });
          if (!flags.quiet && !flags.json && result.applied.length > 0) processOutput.out(`applied ${result.applied.length} migration file(s)`);
        } catch (error) {
          printer.end(); // the error goes on its own line, not on the progress bar's
          throw error;
        } finally {
          signals.dispose();
        }
      }),
    );
}
