import type { Command } from 'commander';
import { verify } from '../commands/backfill.js';
import { ExitCode } from '../errors.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { withProjectOption } from './options.js';
import { BOUNDS } from '../option-bounds.js';
import { bounded, rangeNote } from './parse-number.js';
import { streamStyle } from '../terminal/color.js';
import { withFleetOptions, type FleetFlags } from './fleet.js';
import { verifyFleetCli } from './fleet-commands.js';

/** `phasectl verify <change-id>`: counts rows where the columns differ; exit 0 if none, 1 otherwise. */
export function register(program: Command): void {
  withFleetOptions(withProjectOption(withDatabaseOption(program.command('verify'))))
    .description('count rows where the old and new columns differ (batched, no long lock) and record it')
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl verify users-job-title-to-favourite-color          # exit 1 when rows differ\n  $ phasectl verify users-job-title-to-favourite-color --json\n  $ phasectl verify users-job-title-to-favourite-color --fleet',
    )
    .argument('<change-id>', 'the change id from phases.yaml')
    .option(
      '--batch-size <rows>',
      'rows in the first counting batch (default 10000; later batches adapt to the target duration)' +
        rangeNote(BOUNDS.verifyBatchSize),
      bounded(BOUNDS.verifyBatchSize),
    )
    .option(
      '--jobs <n>',
      'key ranges counted at once, each on its own connection (default 1)' + rangeNote(BOUNDS.jobs),
      bounded(BOUNDS.jobs),
    )
    .option('--json', 'print the result as JSON')
    .action(
      action(
        async (
          changeId: string,
          flags: FleetFlags & {
            databaseUrl?: string;
            project?: string;
            batchSize?: number;
            jobs?: number;
            json?: boolean;
          },
        ) => {
          if (flags.fleet !== undefined) return await verifyFleetCli(changeId, flags);
          const result = await verify({
            databaseUrl: requireDatabaseUrl(flags.databaseUrl),
            projectDir: flags.project,
            changeId,
            batchSize: flags.batchSize,
            jobs: flags.jobs,
          });
          const paint = streamStyle(process.stdout);
          const counted = `${result.differing} differing row(s)`;
          processOutput.out(
            flags.json
              ? JSON.stringify(result)
              : `${changeId}: ${result.differing === 0 ? paint.green(counted) : paint.red(counted)}`,
          );
          if (result.differing > 0 && !flags.json)
            processOutput.err(
              `  fix: run \`phasectl backfill ${changeId} --repair\` (it rewrites exactly the rows that differ), then verify again`,
            );
          return result.differing === 0 ? ExitCode.ok : ExitCode.problems;
        },
      ),
    );
}
