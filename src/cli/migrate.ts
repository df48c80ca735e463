import type { Command } from 'commander';
import { migrate } from '../commands/migrate.js';
import { withEventOutput } from './event-output.js';
import {
  backfillOptionsFrom,
  runOptionsFrom,
  withBackfillOptions,
  withEventOutputOptions,
  withProjectOption,
  withRunOptions,
  type BackfillFlags,
  type RunFlags,
} from './options.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { withFleetOptions, type FleetFlags } from './fleet.js';
import { migrateFleetCli } from './fleet-commands.js';

interface MigrateFlags extends FleetFlags, RunFlags, BackfillFlags {
  allowPartialFleet?: boolean;
  databaseUrl?: string;
  project?: string;
  dryRun?: boolean;
  toRelease?: string;
  quiet?: boolean;
  json?: boolean;
}

/** `phasectl migrate`: applies pending migration files (backfills and verifications included). */
export function register(program: Command): void {
  withBackfillOptions(
    withRunOptions(
      withFleetOptions(withEventOutputOptions(withProjectOption(withDatabaseOption(program.command('migrate'))))),
    ),
  )
    .option('--allow-partial-fleet', 'with --fleet: let phase 3 start although a database has not applied phase 2')
    .description('apply pending migrations in db/migrations, in file-name order')
    .addHelpText(
      'after',
      '\nExamples:\n  $ DATABASE_URL=postgres://app@db/app phasectl migrate\n  $ phasectl migrate --dry-run                       # print what would run\n  $ phasectl migrate --to-release 1.5.0 --json       # stop at a release boundary; JSON events\n  $ phasectl migrate --lock-timeout 500 --retry-for 300 --wait-lock 60\n  $ phasectl migrate --jobs 2 --max-replication-lag 10  # two backfill workers, paused while a replica lags\n  $ phasectl migrate --fleet --concurrency 4          # every database of fleet.yaml (docs/fleets.md)',
    )
    .option('--dry-run', 'print the SQL of each pending file and change nothing')
    .option('--to-release <name>', 'stop after the last file of this release')
    .action(
      action(async (flags: MigrateFlags) => {
        if (flags.fleet !== undefined) return await migrateFleetCli(flags);
        await withEventOutput(flags, async ({ log, signal }) => {
          const result = await migrate({
            databaseUrl: requireDatabaseUrl(flags.databaseUrl),
            projectDir: flags.project,
            dryRun: flags.dryRun,
            toRelease: flags.toRelease,
            ...runOptionsFrom(flags),
            backfill: backfillOptionsFrom(flags),
            signal,
            log,
          });
          if (!flags.quiet && !flags.json && result.applied.length > 0)
            processOutput.out(`applied ${result.applied.length} migration file(s)`);
        });
      }),
    );
}
