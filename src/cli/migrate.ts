import type { Command } from 'commander';
import { migrate } from '../commands/migrate.js';
import { withEventOutput } from './event-output.js';
import { withEventOutputOptions, withProjectOption } from './options.js';
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
  jobs?: number;
  maxReplicationLag?: number;
  throttleQuery?: string;
  quiet?: boolean;
  json?: boolean;
}

/** `phasectl migrate`: applies pending migration files (backfills and verifications included). */
export function register(program: Command): void {
  withFleetOptions(withEventOutputOptions(withProjectOption(withDatabaseOption(program.command('migrate')))))
    .option('--allow-partial-fleet', 'with --fleet: let phase 3 start although a database has not applied phase 2')
    .description('apply pending migrations in db/migrations, in file-name order')
    .addHelpText(
      'after',
      '\nExamples:\n  $ DATABASE_URL=postgres://app@db/app phasectl migrate\n  $ phasectl migrate --dry-run                       # print what would run\n  $ phasectl migrate --to-release 1.5.0 --json       # stop at a release boundary; JSON events\n  $ phasectl migrate --lock-timeout 500 --retry-for 300 --wait-lock 60\n  $ phasectl migrate --jobs 2 --max-replication-lag 10  # two backfill workers, paused while a replica lags\n  $ phasectl migrate --fleet --concurrency 4          # every database of fleet.yaml (docs/fleets.md)',
    )
    .option('--dry-run', 'print the SQL of each pending file and change nothing')
    .option('--to-release <name>', 'stop after the last file of this release')
    .option(
      '--lock-timeout <ms>',
      "lock_timeout for DDL, set after each file's own (the files are not edited)" + rangeNote(BOUNDS.lockTimeoutMs),
      bounded(BOUNDS.lockTimeoutMs),
    )
    .option(
      '--retry-for <seconds>',
      'keep retrying lock timeouts this long (default 60)' + rangeNote(BOUNDS.retryForSeconds),
      bounded(BOUNDS.retryForSeconds),
    )
    .option(
      '--show-blocker-queries',
      'name the queries of sessions blocking a migration (constants masked); default: pid, user, application, state, age',
    )
    .option(
      '--wait-lock <seconds>',
      'wait this long for another phasectl migrate to finish (default 0)' + rangeNote(BOUNDS.waitLockSeconds),
      bounded(BOUNDS.waitLockSeconds),
    )
    .option(
      '--batch-size <rows>',
      'first backfill batch size (default 1000)' + rangeNote(BOUNDS.batchSize),
      bounded(BOUNDS.batchSize),
    )
    .option(
      '--target-batch-ms <ms>',
      'target duration of a backfill batch (default 50)' + rangeNote(BOUNDS.targetBatchMs),
      bounded(BOUNDS.targetBatchMs),
    )
    .option(
      '--pause-ms <ms>',
      'pause between backfill batches (default 0)' + rangeNote(BOUNDS.pauseMs),
      bounded(BOUNDS.pauseMs),
    )
    .option(
      '--jobs <n>',
      'key ranges backfilled (and verified) at once, each on its own connection (default 1; see docs/backfill.md for when to raise it)' +
        rangeNote(BOUNDS.jobs),
      bounded(BOUNDS.jobs),
    )
    .option(
      '--max-replication-lag <seconds>',
      'pause new backfill batches while a streaming replica replays further behind than this' +
        rangeNote(BOUNDS.maxReplicationLagSeconds),
      bounded(BOUNDS.maxReplicationLagSeconds),
    )
    .option(
      '--throttle-query <sql>',
      'pause new backfill batches while this SELECT returns true (read-only, 5 s statement_timeout; qualify table names)',
    )
    .action(
      action(async (flags: MigrateFlags) => {
        if (flags.fleet !== undefined) return await migrateFleetCli(flags);
        await withEventOutput(flags, async ({ log, signal }) => {
          const result = await migrate({
            databaseUrl: requireDatabaseUrl(flags.databaseUrl),
            projectDir: flags.project,
            dryRun: flags.dryRun,
            toRelease: flags.toRelease,
            lockTimeoutMs: flags.lockTimeout,
            retryForSeconds: flags.retryFor,
            waitLockSeconds: flags.waitLock,
            showBlockerQueries: flags.showBlockerQueries,
            backfill: {
              batchSize: flags.batchSize,
              targetBatchMs: flags.targetBatchMs,
              pauseMs: flags.pauseMs,
              jobs: flags.jobs,
              maxReplicationLagSeconds: flags.maxReplicationLag,
              throttleQuery: flags.throttleQuery,
            },
            signal,
            log,
          });
          if (!flags.quiet && !flags.json && result.applied.length > 0)
            processOutput.out(`applied ${result.applied.length} migration file(s)`);
        });
      }),
    );
}
