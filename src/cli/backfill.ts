import { InvalidArgumentError, type Command } from 'commander';
import { backfill } from '../commands/backfill.js';
import { withEventOutput } from './event-output.js';
import { withEventOutputOptions, withProjectOption } from './options.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { BOUNDS } from '../option-bounds.js';
import { bounded, rangeNote } from './parse-number.js';

/** `phasectl backfill <change-id>`: runs or resumes one backfill. */
export function register(program: Command): void {
  withEventOutputOptions(withProjectOption(withDatabaseOption(program.command('backfill'))))
    .description('run or resume the batched backfill of one change')
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl backfill users-job-title-to-favourite-color            # run or resume the up backfill\n  $ phasectl backfill users-job-title-to-favourite-color --repair   # rewrite exactly the rows verify finds differing\n  $ phasectl backfill users-job-title-to-favourite-color --direction down --pause-ms 20\n  $ phasectl backfill users-job-title-to-favourite-color --jobs 4 --throttle-query "SELECT pg_catalog.pg_is_in_recovery()"',
    )
    .argument('<change-id>', 'the change id from phases.yaml')
    .option(
      '--batch-size <rows>',
      'first batch size (default 1000)' + rangeNote(BOUNDS.batchSize),
      bounded(BOUNDS.batchSize),
    )
    .option(
      '--target-batch-ms <ms>',
      'target duration of a batch (default 50)' + rangeNote(BOUNDS.targetBatchMs),
      bounded(BOUNDS.targetBatchMs),
    )
    .option('--pause-ms <ms>', 'pause between batches (default 0)' + rangeNote(BOUNDS.pauseMs), bounded(BOUNDS.pauseMs))
    .option(
      '--jobs <n>',
      'key ranges backfilled at once, each on its own connection (default 1; see docs/backfill.md for when to raise it)' +
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
    .option('--direction <up|down>', 'up fills the new column (default); down fills the old one', direction, 'up')
    .option(
      '--repair',
      'walk the whole table again, even after the backfill finished, and rewrite exactly the rows whose columns differ (what verify counts)',
    )
    .action(
      action(
        async (
          changeId: string,
          flags: {
            databaseUrl?: string;
            project?: string;
            batchSize?: number;
            targetBatchMs?: number;
            pauseMs?: number;
            jobs?: number;
            maxReplicationLag?: number;
            throttleQuery?: string;
            direction: 'up' | 'down';
            repair?: boolean;
            quiet?: boolean;
            json?: boolean;
          },
        ) => {
          await withEventOutput(flags, async ({ log, signal }) => {
            const result = await backfill({
              databaseUrl: requireDatabaseUrl(flags.databaseUrl),
              projectDir: flags.project,
              changeId,
              direction: flags.direction,
              batchSize: flags.batchSize,
              targetBatchMs: flags.targetBatchMs,
              pauseMs: flags.pauseMs,
              jobs: flags.jobs,
              maxReplicationLagSeconds: flags.maxReplicationLag,
              throttleQuery: flags.throttleQuery,
              repair: flags.repair === true,
              signal,
              log,
            });
            if (flags.json) processOutput.out(JSON.stringify(result));
          });
        },
      ),
    );
}

function direction(value: string): 'up' | 'down' {
  if (value !== 'up' && value !== 'down') throw new InvalidArgumentError('expected up or down');
  return value;
}
