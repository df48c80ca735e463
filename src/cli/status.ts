import type { Command } from 'commander';
import { status } from '../commands/status.js';
import { formatStatus } from './status-format.js';
import { action, printable, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { withProjectOption } from './options.js';
import { withFleetOptions, type FleetFlags } from './fleet.js';
import { statusFleetCli } from './fleet-commands.js';
import { InputError } from '../errors.js';

/** `phasectl status`: where every change stands, in phases.yaml and in the database. */
export function register(program: Command): void {
  withFleetOptions(withProjectOption(withDatabaseOption(program.command('status'))))
    .description(
      'show each change (archived ones too): phase in phases.yaml and in the database, backfill progress, audit figures, drift, next action, last guard refusal',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl status\n  $ phasectl status users-job-title-to-favourite-color   # one change\n  $ phasectl status --json                          # machine-readable, for dashboards and scripts\n  $ phasectl status --fleet fleet.yaml              # every database: targets x changes, safe to deploy?',
    )
    .argument('[change-id]', 'only this change (its audit figures too)')
    .option('--json', 'print the report as JSON only')
    .action(
      action(
        async (
          changeId: string | undefined,
          flags: FleetFlags & { databaseUrl?: string; project?: string; json?: boolean },
        ) => {
          if (flags.fleet !== undefined) {
            if (changeId !== undefined)
              throw new InputError('`phasectl status <change-id>` does not take --fleet', {
                hint: 'run `phasectl status --fleet <file>` for every change, or `phasectl status <change-id>` against one database',
              });
            return await statusFleetCli(flags);
          }
          const report = await status({
            databaseUrl: requireDatabaseUrl(flags.databaseUrl),
            projectDir: flags.project,
            changeId,
          });
          processOutput.out(flags.json ? JSON.stringify(report, null, 2) : printable(formatStatus(report)));
        },
      ),
    );
}
