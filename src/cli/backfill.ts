import { InvalidArgumentError, type Command } from 'commander';
import { backfill } from '../commands/backfill.js';
import { withEventOutput } from './event-output.js';
import {
  backfillOptionsFrom,
  withBackfillOptions,
  withEventOutputOptions,
  withProjectOption,
  type BackfillFlags,
} from './options.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';

/** `phasectl backfill <change-id>`: runs or resumes one backfill. */
export function register(program: Command): void {
  withBackfillOptions(withEventOutputOptions(withProjectOption(withDatabaseOption(program.command('backfill')))))
    .description('run or resume the batched backfill of one change')
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl backfill users-job-title-to-favourite-color            # run or resume the up backfill\n  $ phasectl backfill users-job-title-to-favourite-color --repair   # rewrite exactly the rows verify finds differing\n  $ phasectl backfill users-job-title-to-favourite-color --direction down --pause-ms 20\n  $ phasectl backfill users-job-title-to-favourite-color --jobs 4 --throttle-query "SELECT pg_catalog.pg_is_in_recovery()"',
    )
    .argument('<change-id>', 'the change id from phases.yaml')
    .option('--direction <up|down>', 'up fills the new column (default); down fills the old one', direction, 'up')
    .option(
      '--repair',
      'walk the whole table again, even after the backfill finished, and rewrite exactly the rows whose columns differ (what verify counts)',
    )
    .action(
      action(
        async (
          changeId: string,
          flags: BackfillFlags & {
            databaseUrl?: string;
            project?: string;
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
              ...backfillOptionsFrom(flags),
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
